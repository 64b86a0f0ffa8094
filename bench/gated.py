"""The motion gate on what surveillance mostly records: a clip that is still for most of its
length (`tests.media.mostly_still_clip`). A bare ultralytics loop on it, and `VideoAnalysis` with
tracking, a zone and a line, once gated and once with every frame detected: the gate must give
the same unique counts and the same events, for fewer inferences."""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.video import Side, VideoResult, VideoRun, run_baseline, run_vigil, zone_and_line
from shared.params import JobParams, MotionGateParams

# Importing a test fixture: the benchmark measures the clip the gate's tests check.
from tests.media import mostly_still_clip

SIDES: tuple[Side, ...] = ("baseline", "gated", "ungated")
EventKey = tuple[Any, ...]


def gate_params(enabled: bool, max_frames: int | None) -> JobParams:
    return JobParams(
        max_frames=max_frames, motion_gate=MotionGateParams(enabled=enabled), **zone_and_line()
    )


def event_keys(summary: dict[str, Any]) -> list[EventKey]:
    """What an event says happened and where, with when (seconds) last. The track id is left
    out: it is the tracker's counter, which the ungated run also spends on the flicker of
    detections in a frozen picture."""
    return [
        (e["type"], e.get("zone"), e.get("line"), e.get("label"), e["timestamp"])
        for e in summary["events"]
    ]


def unmatched(events: list[EventKey], others: list[EventKey], tolerance_s: float) -> list[EventKey]:
    """`events` that no event of `others` says the same of within `tolerance_s`, each of
    `others` matched once, in time order."""
    left = sorted(others, key=lambda e: e[-1])
    missing = []
    for event in sorted(events, key=lambda e: e[-1]):
        match = next(
            (o for o in left if o[:-1] == event[:-1] and abs(o[-1] - event[-1]) <= tolerance_s),
            None,
        )
        if match is None:
            missing.append(event)
        else:
            left.remove(match)
    return missing


@dataclass
class GateResult:
    videos: VideoResult
    summaries: dict[Side, dict[str, Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """The gated run's frames detected and carried over."""
        counts: dict[str, int] = self.summaries["gated"]["motion_gate"]
        return counts

    @property
    def same_unique_objects(self) -> bool:
        return bool(
            self.summaries["gated"]["unique_objects"] == self.summaries["ungated"]["unique_objects"]
        )

    @property
    def same_events(self) -> bool:
        """The same events, each dated within the gate's full-detection interval of its twin:
        the gate confirms what it carries that often, so an event may come that much later."""
        only_gated, only_ungated = self.event_differences()
        return not only_gated and not only_ungated

    def event_differences(self) -> tuple[list[EventKey], list[EventKey]]:
        """Events only the gated run has, and only the ungated one."""
        gated, ungated = event_keys(self.summaries["gated"]), event_keys(self.summaries["ungated"])
        tolerance = MotionGateParams().full_detection_s
        return unmatched(gated, ungated, tolerance), unmatched(ungated, gated, tolerance)


def bench_gate(model: Any, repeat: int, max_frames: int | None) -> GateResult:
    """`model` is the bare ultralytics YOLO, warmed up. The clip is made afresh (a few seconds
    of ffmpeg), untimed."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-gate-") as tmp:
        clip = mostly_still_clip(Path(tmp) / "mostly_still.mp4")
        result = GateResult(VideoResult(clip))

        def analysed(side: Side) -> VideoRun:
            run, result.summaries[side] = run_vigil(
                side, clip, gate_params(side == "gated", max_frames)
            )
            return run

        runners: dict[Side, Callable[[], VideoRun]] = {
            "baseline": lambda: run_baseline(model, clip, max_frames),
            "gated": lambda: analysed("gated"),
            "ungated": lambda: analysed("ungated"),
        }
        for index in range(repeat):
            # Rotated like the default video's sides, for the same reason.
            shift = index % len(SIDES)
            for side in SIDES[shift:] + SIDES[:shift]:
                gc.collect()
                result.videos.runs.append(runners[side]())
    return result
