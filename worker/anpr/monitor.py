"""Plates over a whole image or video: which vehicles to read on which frames, the vote that
gives each vehicle one plate, watchlist matches and `summary.plates`.

On video, a tracked vehicle is read on a few of its frames only (OCR costs far more than
detection): its first readable view, then views clearly larger or sharper than the best read
so far, and otherwise at most once a second, up to `reads_per_vehicle`, and no more once three
readings agree. Its plate is the text with the highest summed confidence over its readings."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from shared.params import PlatesParams
from shared.plates import WatchKind, watch_matches
from worker.analytics.types import Event
from worker.anpr.reader import Box, PlateRead, top_text
from worker.detectors.base import Detection
from worker.detectors.plugins.plates import PlateDetector

# A view this much better than the best one read is worth reading again.
BETTER_VIEW = 1.25
READ_INTERVAL_S = 1.0
AGREEING_READS = 3
# Sharpness is measured on the vehicle scaled to this width, so that it compares across sizes.
SHARPNESS_WIDTH = 160
MAX_READS_LISTED = 20


@dataclass(frozen=True, slots=True)
class WatchEntry:
    kind: WatchKind
    pattern: str
    label: str | None


@dataclass(frozen=True, slots=True)
class TimedRead:
    read: PlateRead
    frame_index: int
    timestamp: float

    def to_dict(self, track_id: int | None) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "timestamp": round(self.timestamp, 3),
            "license_plate": self.read.text,
            "confidence": round(self.read.confidence, 4),
            "region": self.read.region,
            "bbox": [round(v) for v in self.read.box],
            "vehicle_track_id": track_id,
            "raw_text": self.read.raw_text,
        }


@dataclass
class _Vehicle:
    track_id: int | None
    first_seen: tuple[int, float]
    last_seen: tuple[int, float]
    reads: list[TimedRead] = field(default_factory=list)
    best_view: float = 0.0
    last_read_at: float | None = None

    def plate(self) -> str | None:
        return top_text((t.read.text, t.read.confidence) for t in self.reads)

    def settled(self) -> bool:
        plate = self.plate()
        return sum(t.read.text == plate for t in self.reads) >= AGREEING_READS

    def wants(self, view: float, timestamp: float, budget: int) -> bool:
        if len(self.reads) >= budget or self.settled():
            return False
        if self.last_read_at is None or view >= BETTER_VIEW * self.best_view:
            return True
        return timestamp - self.last_read_at >= READ_INTERVAL_S


def view_quality(frame: np.ndarray, box: Box) -> float:
    """Width times sharpness (variance of the Laplacian at a fixed scale): a near, crisp view
    of a vehicle holds a more legible plate than a far or motion-blurred one."""
    height, width = frame.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(box[2])), min(height, int(box[3]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    grey = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    scale = SHARPNESS_WIDTH / (x2 - x1)
    small = cv2.resize(grey, (SHARPNESS_WIDTH, max(2, round((y2 - y1) * scale))))
    return float(x2 - x1) * float(cv2.Laplacian(small, cv2.CV_64F).var())


class PlateMonitor:
    """Feed frames with `update`, then `finish` for the events and `summary` for the plates.
    Untracked (images, or tracking turned off), every vehicle is read whenever seen and each
    reading stands alone until the summary merges equal plates."""

    def __init__(
        self,
        detector: PlateDetector,
        params: PlatesParams,
        watchlist: Sequence[WatchEntry],
        *,
        tracked: bool,
    ) -> None:
        self.detector = detector
        self.tracked = tracked
        self.params = params
        self.watchlist = list(watchlist)
        self.vehicles: dict[Hashable, _Vehicle] = {}
        self._untracked = itertools.count()

    def update(
        self,
        frame_index: int,
        timestamp: float,
        frame: np.ndarray,
        vehicles: Sequence[tuple[Detection, int | None]],
    ) -> list[tuple[PlateRead, int | None]]:
        """Reads what is worth reading in this frame; returns each reading with its vehicle's
        track id."""
        now = (frame_index, timestamp)
        boxes: list[Box] = []
        track_ids: list[int | None] = []
        for detection, track_id in vehicles:
            box = (detection.x1, detection.y1, detection.x2, detection.y2)
            wide = detection.width >= self.params.min_vehicle_width
            if not self.tracked:
                if wide:
                    boxes.append(box)
                    track_ids.append(None)
                continue
            if track_id is None:
                continue  # not confirmed by the tracker yet
            vehicle = self.vehicles.setdefault(track_id, _Vehicle(track_id, now, now))
            vehicle.last_seen = now
            view = view_quality(frame, box) if wide else 0.0
            if wide and vehicle.wants(view, timestamp, self.params.reads_per_vehicle):
                vehicle.best_view = max(vehicle.best_view, view)
                vehicle.last_read_at = timestamp
                boxes.append(box)
                track_ids.append(track_id)
        if self.tracked and not boxes:
            return []
        # A tracked vehicle is read in its own box; an image is searched as the job asks
        # (with no vehicle in sight, the whole frame: a close-up of a plate, say).
        strategy = "vehicle_text" if self.tracked else self.params.localisation
        reads = self.detector.read(frame, boxes, strategy)
        out: list[tuple[PlateRead, int | None]] = []
        for read in reads:
            track_id = track_ids[read.vehicle] if read.vehicle is not None else None
            key: Hashable = track_id if track_id is not None else ("read", next(self._untracked))
            vehicle = self.vehicles.setdefault(key, _Vehicle(track_id, now, now))
            vehicle.reads.append(TimedRead(read, frame_index, timestamp))
            out.append((read, track_id))
        return out

    def plates(self) -> list[dict[str, Any]]:
        """One entry per distinct plate: vehicles reading the same text (one car whose track
        broke, or a car seen untracked in several frames) are merged."""
        merged: dict[str, list[_Vehicle]] = {}
        for vehicle in self.vehicles.values():
            plate = vehicle.plate()
            if plate is not None:
                merged.setdefault(plate, []).append(vehicle)
        return sorted(
            (_plate_entry(plate, vehicles) for plate, vehicles in merged.items()),
            key=lambda p: (p["first_seen"], p["license_plate"]),
        )

    def finish(self) -> list[Event]:
        events: list[Event] = []
        for plate in self.plates():
            first = plate["first_read"]
            data = {k: plate[k] for k in ("license_plate", "confidence", "region")}
            data["vehicle_track_ids"] = plate["vehicle_track_ids"]
            events.append(Event("plate_read", first["frame_index"], first["timestamp"], data))
            for entry in self.watchlist:
                if watch_matches(plate["license_plate"], entry.pattern, entry.kind):
                    events.append(
                        Event(
                            "watchlist_match",
                            first["frame_index"],
                            first["timestamp"],
                            {
                                **data,
                                "watch_pattern": entry.pattern,
                                "watch_kind": entry.kind,
                                "watch_label": entry.label,
                            },
                        )
                    )
        return events


def _plate_entry(plate: str, vehicles: list[_Vehicle]) -> dict[str, Any]:
    supporting = [
        (vehicle.track_id, timed)
        for vehicle in vehicles
        for timed in vehicle.reads
        if timed.read.text == plate
    ]
    supporting.sort(key=lambda pair: pair[1].frame_index)
    best_track, best = max(supporting, key=lambda pair: pair[1].read.confidence)
    reads_total = sum(len(vehicle.reads) for vehicle in vehicles)
    return {
        "license_plate": plate,
        "confidence": round(best.read.confidence, 4),
        "region": best.read.region,
        "bbox": [round(v) for v in best.read.box],
        "vehicle_track_id": best_track,
        "vehicle_track_ids": sorted({v.track_id for v in vehicles if v.track_id is not None}),
        "first_seen": round(min(v.first_seen[1] for v in vehicles), 3),
        "last_seen": round(max(v.last_seen[1] for v in vehicles), 3),
        "best_frame_index": best.frame_index,
        "supporting_reads": len(supporting),
        "reads_total": reads_total,
        "first_read": supporting[0][1].to_dict(supporting[0][0]),
        "reads": [timed.to_dict(track) for track, timed in supporting[:MAX_READS_LISTED]],
    }
