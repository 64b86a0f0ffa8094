"""One analysed frame, start to finish: every selected detector on the same decoded frame,
overlapping boxes from different detectors merged, tracking, zones, lines, crowd and motion,
then the frame's public record. Images are a one-frame run of the same pipeline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.contracts import PLATE_LABEL, object_type
from shared.params import JobParams, MotionParams
from worker.analytics.crowd import CrowdMonitor
from worker.analytics.lines import LineCounter
from worker.analytics.motion import MotionTimeline
from worker.analytics.tracking import IdStitcher, RawTracker
from worker.analytics.types import Event, FrameObject
from worker.analytics.zones import ZoneMonitor
from worker.anpr.monitor import PlateMonitor, WatchEntry
from worker.detectors.base import Detection, Detector
from worker.detectors.plugins.motion import MotionDetector
from worker.detectors.plugins.plates import PLATED_VEHICLES, PlateDetector
from worker.detectors.registry import get_detector
from worker.services.summary import SummaryBuilder

# Boxes of the same label from two detectors (YOLO persons from `objects` and `people`,
# say) overlapping this much are one object.
DUPLICATE_IOU = 0.7
# Share of a box's pixels that must be moving for `is_moving`.
MOVING_FRACTION = 0.05
# Zone, line and crowd analytics count objects; faces (part of a person), plates (part of a
# vehicle) and motion blobs (no identity) would count things twice.
NOT_COUNTED = frozenset({"face", "motion", PLATE_LABEL})
MAX_EVENTS = 5000

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in 0..1 of the frame


@dataclass
class FrameOutput:
    detections: list[dict[str, Any]]
    metrics: dict[str, Any]


@dataclass
class EventLog:
    """The events timeline, capped so a busy day of video cannot grow a summary without end."""

    events: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def extend(self, events: list[Event]) -> None:
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


def _ordered_detectors(params: JobParams) -> list[Detector[Any]]:
    detectors = [get_detector(p) for p in params.resolved_detectors()]
    # The general-purpose `objects` goes last so that, where boxes coincide, the specialised
    # detector's box (with its source, e.g. `yolo+hog`) is the one kept.
    detectors.sort(key=lambda d: d.kind == "objects")
    for detector in detectors:
        detector.reset()
    return detectors


def merge_duplicates(found: list[tuple[str, Detection]]) -> list[tuple[str, Detection]]:
    """Drop a box that repeats one another detector already reported (same label, IoU ≥
    DUPLICATE_IOU). A detector's own boxes went through its NMS and are never compared."""
    kept: list[tuple[str, Detection]] = []
    by_label: dict[str, list[tuple[str, Detection]]] = {}
    for kind, detection in found:
        earlier = by_label.setdefault(detection.label, [])
        if not any(
            other_kind != kind and other.iou(detection) >= DUPLICATE_IOU
            for other_kind, other in earlier
        ):
            kept.append((kind, detection))
            earlier.append((kind, detection))
    return kept


class FramePipeline:
    """Feed frames in order with `process`, call `finish`, then read `builder`'s frame
    statistics and `analytics_summary()`; `video` turns on tracking (images have no time
    axis). `watchlist` is the job owner's, for plate matches."""

    def __init__(
        self,
        params: JobParams,
        *,
        video: bool,
        analysed_fps: float = 1.0,
        watchlist: Sequence[WatchEntry] = (),
    ) -> None:
        self.params = params
        self.detectors = _ordered_detectors(params)
        self.motion = next((d for d in self.detectors if isinstance(d, MotionDetector)), None)
        self.tracker = (
            RawTracker(params.tracking, analysed_fps) if video and params.tracking.enabled else None
        )
        self.stitcher = IdStitcher(params.tracking) if self.tracker else None
        self.zones = ZoneMonitor(params.zones) if params.zones else None
        self.lines = LineCounter(params.lines) if params.lines and self.tracker else None
        self.crowd = CrowdMonitor(params.crowd, params.zones)
        motion_params = params.detector("motion")
        self.motion_timeline = (
            MotionTimeline(motion_params) if isinstance(motion_params, MotionParams) else None
        )
        plates = next((d for d in self.detectors if isinstance(d, PlateDetector)), None)
        self.plates = (
            PlateMonitor(plates, plates.config, watchlist, tracked=self.tracker is not None)
            if plates is not None
            else None
        )
        self.builder = SummaryBuilder()
        self.events = EventLog()
        self._last: tuple[int, float] = (0, 0.0)

    def process(self, frame_index: int, timestamp: float, frame: np.ndarray) -> FrameOutput:
        height, width = frame.shape[:2]
        found = merge_duplicates(
            [(d.kind, detection) for d in self.detectors for detection in d.detect(frame)]
        )
        boxes = [(d.x1 / width, d.y1 / height, d.x2 / width, d.y2 / height) for _, d in found]
        track_ids = self._track(frame_index, timestamp, found, boxes, frame)
        objects = [
            FrameObject(i, det.label, track_ids[i], boxes[i])
            for i, (_, det) in enumerate(found)
            if det.label not in NOT_COUNTED
        ]
        metrics: dict[str, Any] = {}
        membership: dict[int, list[str]] = {}
        if self.zones is not None:
            zone_frame = self.zones.update(frame_index, timestamp, objects)
            membership = zone_frame.membership
            metrics["zones"] = zone_frame.occupancy
            self.events.extend(zone_frame.events)
        keep = self._kept(found, membership)
        objects = [o for o in objects if o.index in keep]
        if self.lines is not None:
            self.events.extend(self.lines.update(frame_index, timestamp, objects))
        metrics.update(self._crowd(frame_index, timestamp, objects, metrics.get("zones", {})))
        metrics.update(self._motion(frame_index, timestamp))
        detections = [
            self._public(kind, det, boxes[i], track_ids[i], membership.get(i))
            for i, (kind, det) in enumerate(found)
            if i in keep
        ]
        if self.plates is not None:
            vehicles = [
                (det, track_ids[i])
                for i, (_, det) in enumerate(found)
                if i in keep and det.label in PLATED_VEHICLES
            ]
            detections += self._plates(frame_index, timestamp, frame, vehicles)
        # Motion blobs are measurements, not objects: they stay out of the object counts.
        self.builder.add(frame_index, timestamp, [d for d in detections if d["label"] != "motion"])
        self._last = (frame_index, timestamp)
        return FrameOutput(detections, metrics)

    def _track(
        self,
        frame_index: int,
        timestamp: float,
        found: list[tuple[str, Detection]],
        boxes: list[Box],
        frame: np.ndarray,
    ) -> list[int | None]:
        ids: list[int | None] = [None] * len(found)
        if self.tracker is None or self.stitcher is None:
            return ids
        trackable = [i for i, (_, det) in enumerate(found) if det.label != "motion"]
        raw = self.tracker.update([found[i][1] for i in trackable], frame)
        observed = [(i, r) for i, r in zip(trackable, raw, strict=True) if r is not None]
        stable = self.stitcher.update(
            frame_index,
            timestamp,
            [(r, found[i][1].label, boxes[i]) for i, r in observed],
        )
        for (i, _), track_id in zip(observed, stable, strict=True):
            ids[i] = track_id
        return ids

    def _plates(
        self,
        frame_index: int,
        timestamp: float,
        frame: np.ndarray,
        vehicles: list[tuple[Detection, int | None]],
    ) -> list[dict[str, Any]]:
        assert self.plates is not None
        height, width = frame.shape[:2]
        records = []
        for read, track_id in self.plates.update(frame_index, timestamp, frame, vehicles):
            x1, y1, x2, y2 = read.box
            plate = Detection(
                PLATE_LABEL,
                read.confidence,
                x1,
                y1,
                x2,
                y2,
                source=self.plates.detector.engine_name,
                attributes={
                    "license_plate": read.text,
                    "region": read.region,
                    "vehicle_track_id": track_id,
                    "raw_text": read.raw_text,
                },
            )
            box = (x1 / width, y1 / height, x2 / width, y2 / height)
            records.append(self._public(PlateDetector.kind, plate, box, None, None))
        return records

    def _kept(
        self, found: list[tuple[str, Detection]], membership: dict[int, list[str]]
    ) -> set[int]:
        if not self.params.roi_only:
            return set(range(len(found)))
        return {i for i in range(len(found)) if membership.get(i)}

    def _crowd(
        self,
        frame_index: int,
        timestamp: float,
        objects: list[FrameObject],
        occupancy: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        people = sum(1 for o in objects if o.label == "person")
        zone_people = {
            name: int(zone.get("by_class", {}).get("person", 0)) for name, zone in occupancy.items()
        }
        crowd = self.crowd.update(frame_index, timestamp, people, zone_people)
        self.events.extend(crowd.events)
        return crowd.metrics

    def _motion(self, frame_index: int, timestamp: float) -> dict[str, Any]:
        if self.motion is None or self.motion_timeline is None:
            return {}
        measured = self.motion.frame_metrics()
        self.events.extend(
            self.motion_timeline.update(
                frame_index,
                timestamp,
                bool(measured["moving"]),
                float(measured["motion_intensity"]),
                float(measured["affected_area_percentage"]),
            )
        )
        return {
            "motion": {k: round(v, 4) if isinstance(v, float) else v for k, v in measured.items()}
        }

    def _public(
        self,
        kind: str,
        det: Detection,
        box: Box,
        track_id: int | None,
        zones: list[str] | None,
    ) -> dict[str, Any]:
        attributes = dict(det.attributes)
        if self.motion is not None and det.label != "motion":
            fraction = self.motion.moving_fraction((det.x1, det.y1, det.x2, det.y2))
            attributes["is_moving"] = fraction >= MOVING_FRACTION
        x1, y1, x2, y2 = box
        record: dict[str, Any] = {
            "label": det.label,
            "confidence": round(det.confidence, 4),
            "bbox": [round(det.x1), round(det.y1), round(det.x2), round(det.y2)],
            "bbox_normalized": [round(x1, 4), round(y1, 4), round(x2, 4), round(y2, 4)],
            "type": object_type(det.label),
            "source": det.source,
            "detector": kind,
        }
        if self.tracker is not None:
            record["track_id"] = track_id
        if self.zones is not None:
            record["zones"] = zones or []
        if attributes:
            record["attributes"] = attributes
        return record

    def finish(self) -> None:
        frame_index, timestamp = self._last
        if self.zones is not None:
            self.events.extend(self.zones.finish(frame_index, timestamp))
        if self.motion_timeline is not None:
            self.events.extend(self.motion_timeline.finish(frame_index, timestamp))
        if self.plates is not None:
            self.events.extend(self.plates.finish())

    def analytics_summary(self) -> dict[str, Any]:
        """What the analytics add to the frame statistics of SummaryBuilder."""
        summary: dict[str, Any] = {
            "detectors": [d.kind for d in self.detectors],
            "crowd": self.crowd.summary(),
        }
        if self.stitcher is not None:
            summary["tracking"] = self.stitcher.summary()
            summary["unique_objects"] = summary["tracking"]["unique_objects"]
            summary["total_unique_objects"] = summary["tracking"]["total_unique_objects"]
            dwell = self.zones.dwell_by_track() if self.zones is not None else {}
            summary["tracks"] = [
                t.summary(dwell.get(t.track_id, {})) for t in self.stitcher.counted()
            ]
        if self.zones is not None:
            summary["zones"] = self.zones.summary()
        if self.lines is not None:
            summary["lines"] = self.lines.summary()
        if self.motion_timeline is not None:
            summary["motion"] = self.motion_timeline.summary()
        if self.plates is not None:
            summary["plates"] = self.plates.plates()
        summary.update(self.events.summary())
        return summary
