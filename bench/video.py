"""Frames per second on one video: a bare ultralytics loop against `VideoAnalysis`."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from bench.common import REPO_ROOT, load_bare_model
from shared.contracts import JobParams
from worker.services.analysis import VideoAnalysis, build_detector

DEFAULT_VIDEO = (REPO_ROOT / "../shared/media/video/pedestrians_vtest.avi").resolve()

Side = Literal["baseline", "vigil"]


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
    def ratio(self) -> float:
        return self.fps("vigil") / self.fps("baseline")

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


def run_vigil(video: Path, params: JobParams) -> VideoRun:
    # Construction is timed too: probing the video is part of what a job costs.
    started = time.perf_counter()
    analysis = VideoAnalysis(video, params)
    for _ in analysis.frames():
        pass
    _ = analysis.summary
    return VideoRun("vigil", analysis.frames_processed, time.perf_counter() - started)


def bench_video(video: Path, repeat: int, max_frames: int | None) -> VideoResult:
    blank = blank_frame(video)
    model = load_bare_model(blank)
    params = JobParams(max_frames=max_frames)
    build_detector(params).detect(blank)
    result = VideoResult(video)
    for index in range(repeat):
        # Alternating who goes first evens out drift (thermal, page cache) over the passes.
        sides: tuple[Side, Side] = (
            ("baseline", "vigil") if index % 2 == 0 else ("vigil", "baseline")
        )
        for side in sides:
            gc.collect()
            run = (
                run_baseline(model, video, max_frames)
                if side == "baseline"
                else run_vigil(video, params)
            )
            result.runs.append(run)
    return result
