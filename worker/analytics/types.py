"""What the per-frame analytics (tracking, zones, lines, crowd, motion) exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FrameObject:
    """A detection as the analytics see it: normalised box, tracked identity when known."""

    index: int  # position in the frame's detection list
    label: str
    track_id: int | None
    bbox: tuple[float, float, float, float]  # x1, y1, x2, y2 in 0..1 of the frame

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom centre of the box: where the object stands on the ground."""
        x1, _, x2, y2 = self.bbox
        return ((x1 + x2) / 2.0, y2)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a job's events timeline."""

    type: str  # zone_enter, zone_exit, loitering, line_crossed, motion_start, motion_end, ...
    frame_index: int
    timestamp: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "frame_index": self.frame_index,
            "timestamp": round(self.timestamp, 3),
            **self.data,
        }
