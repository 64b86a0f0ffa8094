"""`plates`: reading the plates of the vehicles in view over a whole image or stream: which
vehicles to read on which frames, the vote that gives each vehicle one plate, watchlist matches
and `summary.plates`.

On video, a tracked vehicle is read on a few of its frames only (OCR costs far more than
detection): its first readable view, then views clearly larger or sharper than the best read
so far, and otherwise at most once a second, up to `reads_per_vehicle`, and no more once three
readings agree. Its plate is the text with the highest summed confidence over its readings.

A vehicle's plate is announced (`PlateSettled`, with a `WatchMatch` per watchlist entry it
matches) as soon as it is known: when three readings agree, or once its track is lost, or at the
end of the stream, from the readings it has. The job summary's `plate_read` and
`watchlist_match` events come at the end, from the plates merged over the whole stream.

A live stream has no summary: there a vehicle is forgotten once its plate has been announced
and it will never be seen again (its track gone for good, or it had none)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from shared.contracts import PLATE_LABEL
from shared.params import PlatesParams
from shared.plates import watch_matches
from worker.anpr.reader import PLATED_VEHICLES, Box, PlateRead, PlateReader, plate_reader, top_text
from worker.detectors.base import Detection
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.analysers.tracking import TRACK_BUFFER_S
from worker.engine.context import FrameContext, StreamContext
from worker.engine.outputs import PlateSettled, TimelineEvent, WatchEntry, WatchMatch

# A view this much better than the best one read is worth reading again.
BETTER_VIEW = 1.25
READ_INTERVAL_S = 1.0
AGREEING_READS = 3
# Sharpness is measured on the vehicle scaled to this width, so that it compares across sizes.
SHARPNESS_WIDTH = 160
MAX_READS_LISTED = 20


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
    announced: bool = False  # its PlateSettled has been given

    def plate(self) -> str | None:
        return top_text((t.read.text, t.read.confidence) for t in self.reads)

    def settled(self) -> bool:
        plate = self.plate()
        return sum(t.read.text == plate for t in self.reads) >= AGREEING_READS

    def settled_plate(self, now: tuple[int, float]) -> PlateSettled:
        """Its plate as it stands, represented by the most confident reading of it."""
        plate = self.plate()
        supporting = [t for t in self.reads if t.read.text == plate]
        best = max(supporting, key=lambda t: t.read.confidence)
        x1, y1, x2, y2 = (round(v) for v in best.read.box)
        return PlateSettled(
            license_plate=best.read.text,
            confidence=round(best.read.confidence, 4),
            region=best.read.region,
            bbox=(x1, y1, x2, y2),
            vehicle_track_id=self.track_id,
            supporting_reads=len(supporting),
            frame_index=best.frame_index,
            timestamp=best.timestamp,
            emitted_frame_index=now[0],
            emitted_at=now[1],
        )

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
    """Feed frames with `update` and take the plates known so far with `settle`; at the end,
    `settle_all` and `finish` for the events, and `plates` for the summary. Untracked (images,
    or tracking turned off), every vehicle is read whenever seen and each reading stands alone
    until the summary merges equal plates. A tracked vehicle unseen for `lost_after_s` is gone.
    A `live` one forgets vehicles (module docstring): `plates` and `finish` are not for it."""

    def __init__(
        self,
        reader: PlateReader,
        params: PlatesParams,
        watchlist: Sequence[WatchEntry],
        *,
        tracked: bool,
        lost_after_s: float,
        live: bool = False,
    ) -> None:
        self.reader = reader
        self.tracked = tracked
        self.params = params
        self.watchlist = list(watchlist)
        self.lost_after_s = lost_after_s
        self.live = live
        self.vehicles: dict[Hashable, _Vehicle] = {}
        # Vehicles read whose plate has not been announced yet.
        self._pending: dict[Hashable, _Vehicle] = {}
        # Live: vehicles never to be seen again, dropped once no longer pending.
        self._gone: set[Hashable] = set()
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
        reads = self.reader.read(frame, boxes, strategy)
        out: list[tuple[PlateRead, int | None]] = []
        for read in reads:
            track_id = track_ids[read.vehicle] if read.vehicle is not None else None
            key: Hashable = track_id if track_id is not None else ("read", next(self._untracked))
            vehicle = self.vehicles.setdefault(key, _Vehicle(track_id, now, now))
            vehicle.reads.append(TimedRead(read, frame_index, timestamp))
            if not vehicle.announced:
                self._pending[key] = vehicle
            if self.live and track_id is None:
                self._gone.add(key)  # a reading without a track is a vehicle of its own
            out.append((read, track_id))
        return out

    def settle(self, frame_index: int, timestamp: float) -> list[PlateSettled]:
        """The plates that became known by this frame (after its `update`): a reading without
        a track stands alone; a tracked vehicle's plate is known once three readings agree or
        its track is lost."""
        return self._announce(
            (frame_index, timestamp),
            lambda v: (
                v.track_id is None or v.settled() or timestamp - v.last_seen[1] > self.lost_after_s
            ),
        )

    def settle_all(self, frame_index: int, timestamp: float) -> list[PlateSettled]:
        """The end of the stream: every vehicle read has the plate it has."""
        return self._announce((frame_index, timestamp), lambda _: True)

    def forget(self, track_ids: Iterable[int]) -> None:
        """On a live stream, drops the vehicles that will never be seen again (tracks gone for
        good, readings without a track) once their plates have been announced."""
        self._gone.update(track_id for track_id in track_ids if track_id in self.vehicles)
        for key in [key for key in self._gone if key not in self._pending]:
            del self.vehicles[key]
            self._gone.discard(key)

    def matches(self, plate: PlateSettled) -> list[WatchMatch]:
        return [
            WatchMatch.of(plate, entry)
            for entry in self.watchlist
            if watch_matches(plate.license_plate, entry.pattern, entry.kind)
        ]

    def _announce(
        self, now: tuple[int, float], known: Callable[[_Vehicle], bool]
    ) -> list[PlateSettled]:
        plates: list[PlateSettled] = []
        for key, vehicle in list(self._pending.items()):
            if known(vehicle):
                del self._pending[key]
                vehicle.announced = True
                plates.append(vehicle.settled_plate(now))
        return plates

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

    def finish(self, frame_index: int, timestamp: float) -> list[TimelineEvent]:
        """The job summary's plate events, from the plates merged over the whole stream."""
        events: list[TimelineEvent] = []
        for plate in self.plates():
            first = plate["first_read"]
            data = {k: plate[k] for k in ("license_plate", "confidence", "region")}
            data["vehicle_track_ids"] = plate["vehicle_track_ids"]
            kinds = [("plate_read", data)] + [
                (
                    "watchlist_match",
                    {
                        **data,
                        "watch_pattern": entry.pattern,
                        "watch_kind": entry.kind,
                        "watch_label": entry.label,
                    },
                )
                for entry in self.watchlist
                if watch_matches(plate["license_plate"], entry.pattern, entry.kind)
            ]
            events += [
                TimelineEvent(
                    type=type_,
                    frame_index=first["frame_index"],
                    timestamp=first["timestamp"],
                    emitted_frame_index=frame_index,
                    emitted_at=timestamp,
                    data=event_data,
                )
                for type_, event_data in kinds
            ]
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


class PlatesAnalyser(Analyser):
    """Reads the plates of the vehicles kept in each frame; each reading joins the frame's
    records after the detections."""

    def __init__(self, kind: str, monitor: PlateMonitor) -> None:
        self.kind = kind
        self.monitor = monitor

    def observe(self, ctx: FrameContext) -> None:
        vehicles = [(o.detection, o.track_id) for o in ctx.kept() if o.label in PLATED_VEHICLES]
        for read, track_id in self.monitor.update(
            ctx.frame_index, ctx.timestamp, ctx.frame, vehicles
        ):
            x1, y1, x2, y2 = read.box
            plate = Detection(
                PLATE_LABEL,
                read.confidence,
                x1,
                y1,
                x2,
                y2,
                source=self.monitor.reader.engine.name,
                attributes={
                    "license_plate": read.text,
                    "region": read.region,
                    "vehicle_track_id": track_id,
                    "raw_text": read.raw_text,
                },
            )
            ctx.add(self.kind, plate, role="part")
        self._announce(ctx, self.monitor.settle(ctx.frame_index, ctx.timestamp))
        self.monitor.forget(ctx.gone)

    def flush(self, ctx: StreamContext) -> None:
        self._announce(ctx, self.monitor.settle_all(ctx.frame_index, ctx.timestamp))
        # The summary's events, from the plates of the whole stream, which a live one forgot.
        if not self.monitor.live:
            ctx.events += self.monitor.finish(ctx.frame_index, ctx.timestamp)

    def summarise(self, summary: dict[str, Any]) -> None:
        summary["plates"] = self.monitor.plates()

    def _announce(self, ctx: StreamContext, plates: list[PlateSettled]) -> None:
        ctx.plates += plates
        ctx.matches += [match for plate in plates for match in self.monitor.matches(plate)]


def build(stream: Stream) -> PlatesAnalyser | None:
    params = stream.params.detector("plates")
    if not isinstance(params, PlatesParams):
        return None
    monitor = PlateMonitor(
        plate_reader(params),
        params,
        stream.watchlist,
        tracked=stream.tracked,
        # Until then the tracker may still give the vehicle its id back (stitching included).
        lost_after_s=max(stream.params.tracking.stitch_gap_s, TRACK_BUFFER_S),
        live=stream.live,
    )
    return PlatesAnalyser(params.kind, monitor)
