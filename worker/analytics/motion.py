"""Motion segments from the `motion` detector's per-frame verdicts, with hysteresis.

A segment runs from its first moving frame to its last. Stillness ends it only once it has
lasted `merge_gap_s` since the last moving frame, so brief pauses join the motion around them;
and a run shorter than `min_segment_s` (first to last moving frame) is not a segment at all, so
a flicker never reaches the events timeline. `motion_start` therefore fires late, at the frame
where the run qualifies, but carries the segment's real start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.params import MotionParams
from worker.analytics.types import Event

# Timestamps are frame index / fps, so 23/10 - 18/10 falls just short of 0.5: compare durations
# with this slack, or a segment exactly `min_segment_s` long would be dropped.
_SLACK_S = 1e-6


@dataclass
class _Run:
    """Consecutive motion, stillness under `merge_gap_s` included; a segment once it qualifies."""

    start_frame: int
    start_s: float
    end_frame: int
    end_s: float
    peak_intensity: float
    area_total: float
    moving_frames: int = 1
    index: int | None = None  # its place among the segments, once it qualifies

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def extend(self, frame_index: int, timestamp: float, intensity: float, area: float) -> None:
        self.end_frame, self.end_s = frame_index, timestamp
        self.peak_intensity = max(self.peak_intensity, intensity)
        self.area_total += area
        self.moving_frames += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "peak_intensity": round(self.peak_intensity, 4),
            "mean_area_percentage": round(self.area_total / self.moving_frames, 4),
        }


class MotionTimeline:
    """Fed every analysed frame in order; emits `motion_start` and `motion_end` events for the
    segments that qualify."""

    def __init__(self, params: MotionParams) -> None:
        self.params = params
        self._run: _Run | None = None
        self._moving_now = False
        self._closed: list[_Run] = []
        self._motion_frames = 0
        self._peak_intensity = 0.0

    def update(
        self,
        frame_index: int,
        timestamp: float,
        moving: bool,
        intensity: float,
        area_percent: float,
    ) -> list[Event]:
        self._moving_now = moving
        if not moving:
            return self._still(timestamp)
        self._motion_frames += 1
        self._peak_intensity = max(self._peak_intensity, intensity)
        if self._run is None:
            self._run = _Run(
                frame_index, timestamp, frame_index, timestamp, intensity, area_percent
            )
        else:
            self._run.extend(frame_index, timestamp, intensity, area_percent)
        return self._qualify()

    def finish(self, frame_index: int, timestamp: float) -> list[Event]:
        """End of the video: motion still under way lasts to this (the last) frame."""
        if self._run is None:
            return []
        if self._moving_now:
            self._run.end_frame, self._run.end_s = frame_index, timestamp
        return self._qualify() + self._close()

    def segments(self) -> list[dict[str, Any]]:
        """The closed segments, in order."""
        return [run.to_dict() for run in self._closed]

    def summary(self) -> dict[str, Any]:
        """`motion_frames` and `peak_intensity` count every analysed frame that moved, within a
        segment or not; `motion_seconds` adds up the segments."""
        return {
            "segments": self.segments(),
            "motion_frames": self._motion_frames,
            "motion_seconds": round(sum(run.duration_s for run in self._closed), 3),
            "peak_intensity": round(self._peak_intensity, 4),
        }

    def _still(self, timestamp: float) -> list[Event]:
        if self._run is None or timestamp - self._run.end_s < self.params.merge_gap_s - _SLACK_S:
            return []
        return self._close()

    def _qualify(self) -> list[Event]:
        run = self._run
        if (
            run is None
            or run.index is not None
            or run.duration_s < self.params.min_segment_s - _SLACK_S
        ):
            return []
        run.index = len(self._closed)
        data = {"segment": run.index, "peak_intensity": round(run.peak_intensity, 4)}
        return [Event("motion_start", run.start_frame, run.start_s, data)]

    def _close(self) -> list[Event]:
        run, self._run = self._run, None
        if run is None or run.index is None:
            return []
        self._closed.append(run)
        data = {
            "segment": run.index,
            "peak_intensity": round(run.peak_intensity, 4),
            "duration_s": round(run.duration_s, 3),
        }
        return [Event("motion_end", run.end_frame, run.end_s, data)]
