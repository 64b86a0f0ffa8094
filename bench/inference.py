"""The model's pure inference speed: the same weights compiled by OpenVINO directly, with four
requests in flight, fed the video's frames already decoded, letterboxed to the input the worker's
engine gives the model and converted to its float tensor before the clock starts. No pipeline
around the model can run faster on the same machine: our fps is read against it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openvino as ov

from bench.common import model_path
from shared.settings import get_settings
from worker.detectors.yolo import yolo_runner
from worker.inference.letterbox import Letterbox
from worker.inference.openvino_engine import OpenVinoEngine, model_file

JOBS = 4
# Frames held ready as tensors (4.9 MB each at 640x640 in float32), then cycled through: an
# INT8 network's cost does not depend on what the pixels show, and a whole video held as
# tensors would take gigabytes.
POOL = 32


@dataclass(frozen=True)
class PureInference:
    # Its requests made and run once before any pass: a request's first inference allocates.
    queue: ov.AsyncInferQueue
    tensors: list[ov.Tensor]
    # How many frames a pass infers: the video's, up to max_frames, as many as the bare loop's.
    frames: int


def as_tensor(frame: np.ndarray, box: Letterbox) -> ov.Tensor:
    """What the exported network takes without the worker's built-in pre-processing: RGB,
    0..1, NCHW float32. Built once: a request handed a tensor copies nothing."""
    rgb = cv2.cvtColor(box.apply(frame), cv2.COLOR_BGR2RGB)
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    chw /= 255.0
    return ov.Tensor(chw)


def prepare(video: Path, max_frames: int | None) -> PureInference | None:
    """Compiled, its frames ready and a pool's worth inferred once untimed; None when the
    worker's engine is not OpenVINO's (a `.pt` model), which has no input of its own to
    letterbox to."""
    engine = yolo_runner(get_settings().model_name).engine
    if not isinstance(engine, OpenVinoEngine):
        return None
    compiled = ov.Core().compile_model(
        str(model_file(model_path())), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"}
    )
    tensors: list[ov.Tensor] = []
    frames = 0
    capture = cv2.VideoCapture(str(video))
    try:
        while max_frames is None or frames < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            frames += 1
            if len(tensors) < POOL:
                box = Letterbox.fit(frame.shape[:2], engine.size, stride=engine.stride)
                tensors.append(as_tensor(frame, box))
    finally:
        capture.release()
    if not tensors:
        raise RuntimeError(f"no frame decoded from {video}")
    pure = PureInference(ov.AsyncInferQueue(compiled, JOBS), tensors, frames)
    infer(pure, len(tensors))
    return pure


def infer(pure: PureInference, count: int) -> float:
    """Seconds to infer `count` frames, JOBS at a time."""
    started = time.perf_counter()
    for index in range(count):
        # Blocks while every job is busy: the queue stays full without running ahead.
        pure.queue.start_async({0: pure.tensors[index % len(pure.tensors)]})
    pure.queue.wait_all()
    return time.perf_counter() - started
