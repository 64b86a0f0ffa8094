"""Directed counting lines: how many tracks cross each line, in which direction.

Direction: picture someone standing at the line's `start` facing its `end`, on the frame as it is
displayed (x to the right, y DOWN). An anchor moving from their left-hand side to their
right-hand side crosses "in", from right to left "out". In numbers: `side_of_line` (the cross
product (end - start) x (anchor - start)) is positive on the right-hand side in image
coordinates, so a move from negative to positive is "in". Examples:
- line (0.5, 1) -> (0.5, 0), drawn bottom to top: walking from x < 0.5 to x > 0.5 is "in";
- line (0.5, 0) -> (0.5, 1), drawn top to bottom: the same walk is "out";
- line (0, 0.5) -> (1, 0.5), drawn left to right: walking down the frame is "in".

Counting follows each track's anchor (bottom centre of its box). A side only counts once the
anchor is more than `hysteresis` (normalised distance to the line; x and y are fractions of
width and height, so the band is slightly anisotropic on non-square frames) away from it;
positions inside that band are ignored, so someone standing on the line is not counted over and
over. A crossing is counted when the confirmed side flips AND the path from the last position
confirmed on the old side to the current one meets the line segment itself; passing round an end
of the line flips the side without counting. Untracked objects (no track id: images, tracking
off) cannot cross anything and are ignored. A track's side is kept until the track is gone for
good (`FrameContext.gone`, on a live stream)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.params import LineParams
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.analysers.geometry import Point, segments_intersect, side_of_line
from worker.engine.context import FrameContext, FrameObject
from worker.engine.outputs import TimelineEvent


@dataclass(slots=True)
class _TrackSide:
    side: int  # +1 right-hand side of the line, -1 left-hand side
    position: Point  # the latest anchor confirmed on that side


@dataclass(slots=True)
class _LineStats:
    crossings: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, direction)

    def total(self, direction: str) -> int:
        return sum(n for (_, way), n in self.crossings.items() if way == direction)

    def by_class(self) -> dict[str, dict[str, int]]:
        labels = sorted({label for label, _ in self.crossings})
        return {
            label: {"in": self.crossings[label, "in"], "out": self.crossings[label, "out"]}
            for label in labels
        }


class LineCounter:
    """Counts directed crossings of tracked anchors; see the module docstring for the rules."""

    def __init__(self, lines: Sequence[LineParams], hysteresis: float = 0.01) -> None:
        self._lines = tuple(lines)
        self._hysteresis = hysteresis
        self._sides: dict[tuple[int, str], _TrackSide] = {}
        self._stats = {line.name: _LineStats() for line in lines}

    def update(
        self, frame_index: int, timestamp: float, objects: Sequence[FrameObject]
    ) -> list[TimelineEvent]:
        events: list[TimelineEvent] = []
        for obj in objects:
            if obj.track_id is None:
                continue
            for line in self._lines:
                if line.classes is None or obj.label in line.classes:
                    direction = self._follow(line, obj.track_id, obj.anchor)
                    if direction is not None:
                        self._stats[line.name].crossings[obj.label, direction] += 1
                        data = {
                            "line": line.name,
                            "direction": direction,
                            "track_id": obj.track_id,
                            "label": obj.label,
                        }
                        events.append(
                            TimelineEvent(
                                type="line_crossed",
                                frame_index=frame_index,
                                timestamp=timestamp,
                                emitted_frame_index=frame_index,
                                emitted_at=timestamp,
                                data=data,
                            )
                        )
        return events

    def forget(self, track_ids: Sequence[int]) -> None:
        """Drops the sides of tracks that will never be seen again."""
        for track_id in track_ids:
            for line in self._lines:
                self._sides.pop((track_id, line.name), None)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per line: {"in", "out", "net" (in - out), "by_class": {label: {"in", "out"}}}."""
        summary: dict[str, dict[str, Any]] = {}
        for line in self._lines:
            stats = self._stats[line.name]
            crossed_in, crossed_out = stats.total("in"), stats.total("out")
            summary[line.name] = {
                "in": crossed_in,
                "out": crossed_out,
                "net": crossed_in - crossed_out,
                "by_class": stats.by_class(),
            }
        return summary

    def _follow(self, line: LineParams, track_id: int, anchor: Point) -> str | None:
        """Moves the track's confirmed side; returns the direction when it crossed the line."""
        distance = side_of_line(anchor, line.start, line.end) / math.dist(line.start, line.end)
        if abs(distance) <= self._hysteresis:
            return None
        side = 1 if distance > 0 else -1
        key = (track_id, line.name)
        previous = self._sides.get(key)
        self._sides[key] = _TrackSide(side=side, position=anchor)
        if previous is None or previous.side == side:
            return None
        if not segments_intersect(previous.position, anchor, line.start, line.end):
            return None
        return "in" if side > 0 else "out"


class LinesAnalyser(Analyser):
    def __init__(self, counter: LineCounter) -> None:
        self.counter = counter

    def observe(self, ctx: FrameContext) -> None:
        ctx.events += self.counter.update(ctx.frame_index, ctx.timestamp, ctx.objects())
        self.counter.forget(ctx.gone)

    def summarise(self, summary: dict[str, Any]) -> None:
        summary["lines"] = self.counter.summary()


def build(stream: Stream) -> LinesAnalyser | None:
    """Crossings follow track ids: without tracking there is nothing to count."""
    lines = stream.params.lines
    return LinesAnalyser(LineCounter(lines)) if lines and stream.tracked else None
