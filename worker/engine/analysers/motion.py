"""`motion`: moving regions found by differencing each frame with the stream's previous one
(motion_sensor.py), reported as boxes, as `is_moving` on every other record and as the frame's
`motion` metrics; and motion segments from the per-frame verdicts, with hysteresis.

A segment runs from its first moving frame to its last. Stillness ends it only once it has
lasted `merge_gap_s` since the last moving frame, so brief pauses join the motion around them;
and a run shorter than `min_segment_s` (first to last moving frame) is not a segment at all, so
a flicker never reaches the events timeline. `motion_start` therefore fires late, at the frame
where the run qualifies, but carries the segment's real start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.params import MotionParams
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.analysers.motion_sensor import FrameMotion, MotionSensor
from worker.engine.context import FrameContext, Observation, StreamContext
from worker.engine.outputs import TimelineEvent

# Timestamps are frame index / fps, so 23/10 - 18/10 falls just short of 0.5: compare durations
# with this slack, or a segment exactly `min_segment_s` long would be dropped.
_SLACK_S = 1e-6
# Share of a box's pixels that must be moving for `is_moving`.
MOVING_FRACTION = 0.05


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
    segments that qualify. `live`: no summary, so the closed segments are counted, not kept."""

    def __init__(self, params: MotionParams, *, live: bool = False) -> None:
        self.params = params
        self._live = live
        self._run: _Run | None = None
        self._moving_now = False
        self._closed: list[_Run] = []
        self._segments = 0  # qualified so far, the one under way included
        self._motion_frames = 0
        self._peak_intensity = 0.0

    def update(
        self,
        frame_index: int,
        timestamp: float,
        moving: bool,
        intensity: float,
        area_percent: float,
    ) -> list[TimelineEvent]:
        now = (frame_index, timestamp)
        self._moving_now = moving
        if not moving:
            return self._still(now)
        self._motion_frames += 1
        self._peak_intensity = max(self._peak_intensity, intensity)
        if self._run is None:
            self._run = _Run(
                frame_index, timestamp, frame_index, timestamp, intensity, area_percent
            )
        else:
            self._run.extend(frame_index, timestamp, intensity, area_percent)
        return self._qualify(now)

    def finish(self, frame_index: int, timestamp: float) -> list[TimelineEvent]:
        """End of the video: motion still under way lasts to this (the last) frame."""
        if self._run is None:
            return []
        if self._moving_now:
            self._run.end_frame, self._run.end_s = frame_index, timestamp
        now = (frame_index, timestamp)
        return self._qualify(now) + self._close(now)

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

    def _still(self, now: tuple[int, float]) -> list[TimelineEvent]:
        if self._run is None or now[1] - self._run.end_s < self.params.merge_gap_s - _SLACK_S:
            return []
        return self._close(now)

    def _qualify(self, now: tuple[int, float]) -> list[TimelineEvent]:
        run = self._run
        if (
            run is None
            or run.index is not None
            or run.duration_s < self.params.min_segment_s - _SLACK_S
        ):
            return []
        run.index = self._segments
        self._segments += 1
        data = {"segment": run.index, "peak_intensity": round(run.peak_intensity, 4)}
        return [_event("motion_start", (run.start_frame, run.start_s), now, data)]

    def _close(self, now: tuple[int, float]) -> list[TimelineEvent]:
        run, self._run = self._run, None
        if run is None or run.index is None:
            return []
        if not self._live:
            self._closed.append(run)
        data = {
            "segment": run.index,
            "peak_intensity": round(run.peak_intensity, 4),
            "duration_s": round(run.duration_s, 3),
        }
        return [_event("motion_end", (run.end_frame, run.end_s), now, data)]


def _event(
    type_: str, at: tuple[int, float], now: tuple[int, float], data: dict[str, Any]
) -> TimelineEvent:
    return TimelineEvent(
        type=type_,
        frame_index=at[0],
        timestamp=at[1],
        emitted_frame_index=now[0],
        emitted_at=now[1],
        data=data,
    )


class MotionAnalyser(Analyser):
    def __init__(self, kind: str, sensor: MotionSensor, timeline: MotionTimeline) -> None:
        self.kind = kind
        self.sensor = sensor
        self.timeline = timeline
        self._motion: FrameMotion | None = None

    def detect(self, ctx: FrameContext) -> None:
        self._motion = self.sensor.measure(ctx.frame)
        ctx.report(self.kind, self._motion.boxes, role="measurement")

    def observe(self, ctx: FrameContext) -> None:
        motion = self._motion
        assert motion is not None, "detect() runs before observe()"
        measured = motion.metrics
        ctx.events += self.timeline.update(
            ctx.frame_index,
            ctx.timestamp,
            bool(measured["moving"]),
            float(measured["motion_intensity"]),
            float(measured["affected_area_percentage"]),
        )
        ctx.metrics["motion"] = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in measured.items()
        }

        def is_moving(observation: Observation) -> dict[str, Any]:
            # A moving region is not said to move; anything else moves where it overlaps one.
            if observation.role == "measurement":
                return {}
            det = observation.detection
            fraction = motion.moving_fraction((det.x1, det.y1, det.x2, det.y2))
            return {"is_moving": fraction >= MOVING_FRACTION}

        ctx.annotate(is_moving)

    def flush(self, ctx: StreamContext) -> None:
        ctx.events += self.timeline.finish(ctx.frame_index, ctx.timestamp)

    def summarise(self, summary: dict[str, Any]) -> None:
        summary["motion"] = self.timeline.summary()


def build(stream: Stream) -> MotionAnalyser | None:
    params = stream.params.detector("motion")
    if not isinstance(params, MotionParams):
        return None
    timeline = MotionTimeline(params, live=stream.live)
    return MotionAnalyser(params.kind, MotionSensor(params), timeline)
