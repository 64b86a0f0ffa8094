"""Motion sanity figures for `make eval`: the `motion` analyser's sensor and timeline should find
motion in a crowd walking past and none in a still scene with sensor noise."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from bench.common import REPO_ROOT
from shared.params import MotionParams
from worker.engine.analysers.motion import MotionTimeline
from worker.engine.analysers.motion_sensor import MotionSensor
from worker.video.probe import probe_video
from worker.video.reader import read_frames

PEDESTRIANS = (REPO_ROOT / "../shared/media/video/pedestrians_vtest.avi").resolve()
VIDEO_FRAMES = 150
STILL_FRAMES = 100
NOISE_SIGMA = 2.0  # grey levels: roughly a decent camera's sensor noise in daylight


def report() -> str:
    """A header and one line per clip: frames with motion, segments, mean affected area."""
    params = MotionParams()
    fps = probe_video(PEDESTRIANS).fps
    frames = [frame for _, frame in read_frames(PEDESTRIANS, max_frames=VIDEO_FRAMES)]
    clips = {
        f"pedestrians, first {len(frames)} frames": frames,
        f"still frame + noise sigma={NOISE_SIGMA:g}": still_clip(frames[0]),
    }
    lines = [f"motion sanity (default MotionParams, {fps:g} fps):"]
    for name, clip in clips.items():
        lines.append(f"  {name:<36} {clip_line(params, clip, fps)}")
    return "\n".join(lines)


def still_clip(frame: np.ndarray) -> Iterator[np.ndarray]:
    """`frame` STILL_FRAMES times, each with fresh Gaussian noise, seeded for repeatability."""
    rng = np.random.default_rng(0)
    for _ in range(STILL_FRAMES):
        noisy = frame.astype(np.float32) + rng.normal(0.0, NOISE_SIGMA, frame.shape)
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def clip_line(params: MotionParams, frames: Iterable[np.ndarray], fps: float) -> str:
    sensor = MotionSensor(params)
    timeline = MotionTimeline(params)
    areas: list[float] = []
    for index, frame in enumerate(frames):
        metrics = sensor.measure(frame).metrics
        area = metrics["affected_area_percentage"]
        areas.append(area)
        timeline.update(index, index / fps, metrics["moving"], metrics["motion_intensity"], area)
    last = len(areas) - 1
    timeline.finish(last, last / fps)
    summary = timeline.summary()
    return (
        f"motion in {summary['motion_frames']}/{len(areas)} frames, "
        f"{len(summary['segments'])} segment(s) ({summary['motion_seconds']:.1f} s), "
        f"mean affected area {np.mean(areas):.2f} %"
    )
