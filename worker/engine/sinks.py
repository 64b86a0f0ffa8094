"""Where a file job's frame results go: `JobSink` keeps the events timeline for the job's
summary, `AnnotatedVideoSink` draws each frame into the annotated MP4."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.params import JobParams
from worker.annotate import draw_frame
from worker.engine.outputs import FrameResult, TimelineEvent
from worker.engine.pipeline import Pipeline
from worker.video.writer import AnnotatedVideoWriter

MAX_EVENTS = 5000


@dataclass
class EventLog:
    """The events timeline, capped so a busy day of video cannot grow a summary without end."""

    events: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def extend(self, events: list[TimelineEvent]) -> None:
        for event in events:
            self.counts[event.type] += 1
            if len(self.events) < MAX_EVENTS:
                self.events.append(event.to_dict())

    def summary(self) -> dict[str, Any]:
        # Some events are only known later than they happened (a motion segment qualifies
        # after its minimum length, an edge crossing after it is confirmed) and carry their
        # real time, so the timeline is put in time order here.
        return {
            "events": sorted(self.events, key=lambda e: (e["timestamp"], e["frame_index"])),
            "event_counts": dict(self.counts),
            "events_truncated": sum(self.counts.values()) > len(self.events),
        }


class JobSink:
    """A file job's events, in the order they became known, for its summary."""

    def __init__(self) -> None:
        self.events = EventLog()

    def add(self, result: FrameResult) -> None:
        self.events.extend(result.events)

    def summary(self, pipeline: Pipeline) -> dict[str, Any]:
        return {**pipeline.summary(), **self.events.summary()}


def overlay_lines(metrics: dict[str, Any]) -> list[str]:
    """The people, crowd and motion figures of a frame's metrics, as the overlay shows them."""
    parts = [f"people {metrics.get('people_count', 0)}"]
    if "crowd_level" in metrics:
        parts.append(f"crowd {metrics['crowd_level']}")
    motion = metrics.get("motion")
    if motion:
        parts.append(f"motion {motion['affected_area_percentage']:.1f}%")
    return [" | ".join(parts)]


def annotated(frame: np.ndarray, result: FrameResult, params: JobParams) -> np.ndarray:
    """A copy of the frame with its result drawn on it: zones, lines, boxes and an overlay."""
    return draw_frame(
        frame, result.detections, params.zones, params.lines, overlay_lines(result.metrics)
    )


class AnnotatedVideoSink:
    """The annotated MP4 at `path`, written as the frames go by; the file starts with the
    first frame, whose size it takes. `close` when the stream is done, `abort` otherwise."""

    def __init__(self, path: Path, fps: float, params: JobParams) -> None:
        self.path = path
        self.fps = fps
        self.params = params
        self._writer: AnnotatedVideoWriter | None = None

    def add(self, frame: np.ndarray, result: FrameResult) -> None:
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = AnnotatedVideoWriter(self.path, self.fps, width, height)
        self._writer.write(annotated(frame, result, self.params))

    def close(self) -> str | None:
        """The codec written with, None when no frame came. A failed close can still be
        aborted."""
        writer = self._writer
        if writer is None:
            return None
        writer.close()
        self._writer = None
        return writer.codec

    def abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abort()
