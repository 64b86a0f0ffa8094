"""What a pipeline gives its caller for each frame (`FrameResult`) and what that carries: events
of the timeline, watchlist matches and settled plates, each dated twice — when it happened, and
the frame whose result first carried it (an event is often only known later: a motion segment
once it has lasted long enough, a zone entry once confirmed). `WatchEntry` is what a pipeline
matches plates against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.plates import WatchKind


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEvent:
    """One entry of the events timeline: zone_enter, zone_exit, loitering, line_crossed,
    crowd_level_changed, motion_start, motion_end, plate_read, watchlist_match."""

    type: str
    frame_index: int  # when it happened
    timestamp: float
    emitted_frame_index: int  # when it became known
    emitted_at: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The entry of a job summary's `events`, dated when it happened."""
        return {
            "type": self.type,
            "frame_index": self.frame_index,
            "timestamp": round(self.timestamp, 3),
            **self.data,
        }


@dataclass(frozen=True, slots=True)
class WatchEntry:
    kind: WatchKind
    pattern: str
    label: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlateSettled:
    """A vehicle's plate, once known: three of its readings agree, or its track has been lost
    (or the stream ended) and its best reading stands. Once per tracked vehicle; untracked (an
    image, or tracking off), every reading stands alone. Dated at the reading reported."""

    license_plate: str
    confidence: float
    region: str | None
    bbox: tuple[int, int, int, int]  # the reading's box, frame pixels
    vehicle_track_id: int | None
    supporting_reads: int
    frame_index: int
    timestamp: float
    emitted_frame_index: int
    emitted_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchMatch:
    """A settled plate that a watchlist entry matches."""

    license_plate: str
    confidence: float
    region: str | None
    watch_pattern: str
    watch_kind: WatchKind
    watch_label: str | None
    vehicle_track_id: int | None
    frame_index: int
    timestamp: float
    emitted_frame_index: int
    emitted_at: float

    @classmethod
    def of(cls, plate: PlateSettled, entry: WatchEntry) -> WatchMatch:
        return cls(
            license_plate=plate.license_plate,
            confidence=plate.confidence,
            region=plate.region,
            watch_pattern=entry.pattern,
            watch_kind=entry.kind,
            watch_label=entry.label,
            vehicle_track_id=plate.vehicle_track_id,
            frame_index=plate.frame_index,
            timestamp=plate.timestamp,
            emitted_frame_index=plate.emitted_frame_index,
            emitted_at=plate.emitted_at,
        )


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One analysed frame, or the end of the stream (no detections nor metrics then, dated at
    the last frame). `detections` are the frame's public records (DetectionRead's shape);
    `events`, `matches` and `plates` are what became known during it."""

    frame_index: int
    timestamp: float
    detections: list[dict[str, Any]]
    metrics: dict[str, Any]
    events: list[TimelineEvent]
    matches: list[WatchMatch]
    plates: list[PlateSettled]
