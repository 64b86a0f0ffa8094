"""Frames per second on one video, in process: a bare ultralytics loop, the model's pure
inference, and `VideoAnalysis` with the default job (objects) and with the full suite (every
detector, tracking, a zone and a line)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from bench.common import REPO_ROOT
from bench.inference import PureInference, infer
from shared.params import DETECTOR_PARAMS, JobParams, LineParams, ZoneParams
from worker.engine.analysis import VideoAnalysis

DEFAULT_VIDEO = (REPO_ROOT / "../shared/media/video/pedestrians_vtest.avi").resolve()

Side = Literal["baseline", "inference", "vigil", "full", "gated", "ungated"]
# The default video's sides, in the order the first pass runs them.
SIDES: tuple[Side, ...] = ("baseline", "inference", "vigil", "full")


def zone_and_line() -> dict[str, Any]:
    """A zone over the middle of the frame and a line down its centre: enough for zone and
    line events on any clip."""
    return {
        "zones": (
            ZoneParams(
                name="middle", polygon=((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))
            ),
        ),
        "lines": (LineParams(name="centre", start=(0.5, 0.0), end=(0.5, 1.0)),),
    }


def full_suite(max_frames: int | None) -> JobParams:
    """Every detector with its defaults, tracking, and a zone and a line across the middle."""
    return JobParams(
        detectors=tuple(cls() for cls in DETECTOR_PARAMS.values()),
        max_frames=max_frames,
        **zone_and_line(),
    )


@dataclass(frozen=True)
class VideoRun:
    side: Side
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class VideoResult:
    video: Path
    runs: list[VideoRun] = field(default_factory=list)

    def side(self, side: Side) -> list[VideoRun]:
        return [run for run in self.runs if run.side == side]

    def fps(self, side: Side) -> float:
        """Frames over seconds summed across passes, so a slow pass weighs as much as it took."""
        runs = self.side(side)
        seconds = sum(run.seconds for run in runs)
        return sum(run.frames for run in runs) / seconds if seconds > 0 else float("nan")

    @property
    def frames(self) -> int:
        return self.runs[0].frames if self.runs else 0

    @property
    def passes(self) -> int:
        return len(self.side("baseline"))

    def ratio(self, side: Side, over: Side = "baseline") -> float:
        return self.fps(side) / self.fps(over)

    @property
    def frame_counts_agree(self) -> bool:
        return len({run.frames for run in self.runs}) <= 1


def blank_frame(video: Path) -> np.ndarray:
    """A black frame of the video's size: warming up on the real input size means the first
    timed frame pays no shape-dependent set-up either."""
    capture = cv2.VideoCapture(str(video))
    try:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    if width <= 0 or height <= 0:
        raise RuntimeError(f"cannot read the frame size of {video}")
    return np.zeros((height, width, 3), dtype=np.uint8)


def run_baseline(model: Any, video: Path, max_frames: int | None) -> VideoRun:
    started = time.perf_counter()
    capture = cv2.VideoCapture(str(video))
    frames = 0
    try:
        while max_frames is None or frames < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            model.predict(frame, conf=0.25, verbose=False)
            frames += 1
    finally:
        capture.release()
    return VideoRun("baseline", frames, time.perf_counter() - started)


def run_vigil(side: Side, video: Path, params: JobParams) -> tuple[VideoRun, dict[str, Any]]:
    """A pass and the job's summary. Construction is timed too: probing the video is part of
    what a job costs."""
    started = time.perf_counter()
    analysis = VideoAnalysis(video, params)
    for _ in analysis.frames():
        pass
    summary = analysis.summary
    return VideoRun(side, analysis.frames_processed, time.perf_counter() - started), summary


def bench_video(
    model: Any,
    video: Path,
    repeat: int,
    max_frames: int | None,
    pure: PureInference | None,
) -> VideoResult:
    """`model` is the bare ultralytics YOLO, warmed up; the worker's detectors are expected
    warm too (`warm_up()`), as a worker's are before its first job. Without `pure` (the
    worker's engine is not OpenVINO's), the pure-inference side is left out."""
    runners: dict[Side, Callable[[], VideoRun]] = {
        "baseline": lambda: run_baseline(model, video, max_frames),
        "vigil": lambda: run_vigil("vigil", video, JobParams(max_frames=max_frames))[0],
        "full": lambda: run_vigil("full", video, full_suite(max_frames))[0],
    }
    if pure is not None:
        runners["inference"] = lambda: VideoRun("inference", pure.frames, infer(pure, pure.frames))
    sides = tuple(side for side in SIDES if side in runners)
    result = VideoResult(video)
    for index in range(repeat):
        # Rotating who goes first evens out drift (thermal, page cache) over the passes.
        shift = index % len(sides)
        for side in sides[shift:] + sides[:shift]:
            gc.collect()
            result.runs.append(runners[side]())
    return result
