"""Frames per second on one video: a bare ultralytics loop against `VideoAnalysis` with the
default job (objects) and with the full suite (every detector, tracking, a zone and a line)."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from bench.common import REPO_ROOT, load_bare_model
from shared.params import DETECTOR_PARAMS, JobParams, LineParams, ZoneParams
from worker.engine.analysis import VideoAnalysis
from worker.services.warmup import warm_up

DEFAULT_VIDEO = (REPO_ROOT / "../shared/media/video/pedestrians_vtest.avi").resolve()

Side = Literal["baseline", "vigil", "full"]
SIDES: tuple[Side, ...] = ("baseline", "vigil", "full")


def full_suite(max_frames: int | None) -> JobParams:
    """Every detector with its defaults, tracking, and a zone and a line across the middle."""
    return JobParams(
        detectors=tuple(cls() for cls in DETECTOR_PARAMS.values()),
        max_frames=max_frames,
        zones=(
            ZoneParams(
                name="middle", polygon=((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))
            ),
        ),
        lines=(LineParams(name="centre", start=(0.5, 0.0), end=(0.5, 1.0)),),
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

    def ratio(self, side: Side) -> float:
        return self.fps(side) / self.fps("baseline")

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


def run_vigil(side: Side, video: Path, params: JobParams) -> VideoRun:
    # Construction is timed too: probing the video is part of what a job costs.
    started = time.perf_counter()
    analysis = VideoAnalysis(video, params)
    for _ in analysis.frames():
        pass
    _ = analysis.summary
    return VideoRun(side, analysis.frames_processed, time.perf_counter() - started)


def bench_video(video: Path, repeat: int, max_frames: int | None) -> VideoResult:
    blank = blank_frame(video)
    model = load_bare_model(blank)
    # What a worker does as it starts: every detector built and run once, untimed.
    warm_up()
    params: dict[Side, JobParams] = {
        "vigil": JobParams(max_frames=max_frames),
        "full": full_suite(max_frames),
    }
    result = VideoResult(video)
    for index in range(repeat):
        # Rotating who goes first evens out drift (thermal, page cache) over the passes.
        sides = SIDES[index % 3 :] + SIDES[: index % 3]
        for side in sides:
            gc.collect()
            run = (
                run_baseline(model, video, max_frames)
                if side == "baseline"
                else run_vigil(side, video, params[side])
            )
            result.runs.append(run)
    return result
