"""The events a camera runner publishes, built from one analysed frame or one state change: their
payloads (the whole event, as the stream entry's `payload` carries it, shapes in
shared/cameras/schemas/) and the detection event policy.

Every payload starts with the same fields: event_id, event_type, camera_id, camera_uuid,
owner_id, timestamp (the frame's capture time; for a state change, when it happened) and
generation (the lease generation that produced it)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from shared.cameras.events import iso_millis, stream_fields, uuid7
from shared.cameras.params import EventPolicy
from shared.db.enums import CameraEventType
from worker.detectors.models import describe_model
from worker.engine.outputs import PlateSettled, TimelineEvent, WatchMatch

MOTION_LABEL = "motion"
WATCHLIST_MATCH = CameraEventType.WATCHLIST_MATCH.value


@dataclass(frozen=True, slots=True)
class CameraRef:
    """Which camera, under which lease generation."""

    camera_uuid: UUID
    camera_id: str
    owner_id: UUID
    generation: int


class EventTally:
    """A camera's published and dropped events, counted by the publisher and the buffer, read
    by the runner's renewals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._published = 0
        self._dropped = 0

    def add_published(self) -> None:
        with self._lock:
            self._published += 1

    def add_dropped(self) -> None:
        with self._lock:
            self._dropped += 1

    def totals(self) -> tuple[int, int]:
        """(published, dropped)."""
        with self._lock:
            return self._published, self._dropped


@dataclass(frozen=True)
class BusEvent:
    """One event on its way to the stream. `captured_at` is the Unix time of the frame it is
    about; `timed` events (detections) get `latency_ms` as they are published. A `farewell` is
    the last status of a generation the runner has just let go (stopped: deleted, deactivated,
    reconfigured): published although the camera is no longer held, and still fenced in Redis
    against a newer generation."""

    ref: CameraRef
    event_type: str
    event_id: UUID
    captured_at: float
    payload: dict[str, Any]
    tally: EventTally = field(compare=False)
    timed: bool = False
    farewell: bool = False

    def fields(self, data_field: bool, now: float | None = None) -> dict[str, str]:
        payload = self.payload
        if self.timed:
            published_at = time.time() if now is None else now
            latency = max(0, round((published_at - self.captured_at) * 1000))
            payload = {**payload, "latency_ms": {"capture_to_publish": latency}}
        return stream_fields(
            event_id=self.event_id,
            event_type=self.event_type,
            camera_id=self.ref.camera_id,
            camera_uuid=self.ref.camera_uuid,
            owner_id=self.ref.owner_id,
            timestamp=payload["timestamp"],
            generation=self.ref.generation,
            payload=payload,
            data_field=data_field,
        )


def new_event(
    ref: CameraRef,
    event_type: str,
    captured_at: float,
    body: Mapping[str, Any],
    tally: EventTally,
    *,
    timed: bool = False,
    farewell: bool = False,
) -> BusEvent:
    event_id = uuid7()
    payload = {
        "event_id": str(event_id),
        "event_type": event_type,
        "camera_id": ref.camera_id,
        "camera_uuid": str(ref.camera_uuid),
        "owner_id": str(ref.owner_id),
        "timestamp": iso_millis(captured_at),
        "generation": ref.generation,
        **body,
    }
    return BusEvent(ref, event_type, event_id, captured_at, payload, tally, timed, farewell)


def model_info(model_name: str) -> dict[str, Any]:
    """The detection events' `model_info`: `yolov8n_int8_openvino_model` is model_type
    `yolov8n` in format `openvino-int8` (the folder names exports get, worker/detectors/export.py),
    with the ultralytics version it was exported with and the weights' digest."""
    info = describe_model(model_name)
    stem = model_name.removesuffix("_openvino_model").rsplit(".", 1)[0]
    int8 = stem.endswith("_int8")
    return {
        "model_type": stem.removesuffix("_int8"),
        "version": info.version,
        "format": f"{info.format}-int8" if int8 else info.format,
        "sha256": info.sha256,
    }


def bounding_box(normalized: Sequence[float]) -> dict[str, float]:
    """{x, y, width, height} in 0..1 of the frame, top-left origin, from [x1, y1, x2, y2]."""
    x1, y1, x2, y2 = (min(max(float(v), 0.0), 1.0) for v in normalized)
    return {
        "x": round(x1, 4),
        "y": round(y1, 4),
        "width": round(max(0.0, x2 - x1), 4),
        "height": round(max(0.0, y2 - y1), 4),
    }


def objects(detections: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The detections a detection event reports: motion blobs are measurements, not objects."""
    return [d for d in detections if d.get("label") != MOTION_LABEL]


def detection_body(
    frame_number: int,
    width: int,
    height: int,
    detections: Sequence[Mapping[str, Any]],
    model_info: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "frame_number": frame_number,
        "image": {"width": width, "height": height},
        "detections": [
            {
                "class_name": str(d["label"]),
                "confidence": float(d["confidence"]),
                "bounding_box": bounding_box(d["bbox_normalized"]),
                "track_id": d.get("track_id"),
                "type": str(d.get("type", "object")),
                "zones": list(d.get("zones") or []),
            }
            for d in detections
        ],
        "model_info": dict(model_info),
    }


def motion_body(
    frame_number: int, motion: Mapping[str, Any], detections: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    return {
        "frame_number": frame_number,
        "motion_intensity": round(float(motion["motion_intensity"]), 4),
        # Percent of the frame (0..100), as Vigil's motion metrics have it everywhere.
        "affected_area_percentage": round(float(motion["affected_area_percentage"]), 4),
        "boxes": [
            bounding_box(d["bbox_normalized"]) for d in detections if d.get("label") == MOTION_LABEL
        ],
    }


def wants_motion_event(motion: Mapping[str, Any] | None, threshold: float) -> bool:
    return (
        motion is not None
        and bool(motion.get("moving"))
        and float(motion.get("motion_intensity", 0.0)) >= threshold
    )


def timeline_body(event: TimelineEvent) -> dict[str, Any]:
    """A timeline event of the engine (zone, line, crowd, motion segment) as it is, dated and
    numbered by the frame where it happened."""
    return {"frame_number": event.frame_index, **event.data}


def anpr_body(
    plate: PlateSettled, vehicle: Mapping[str, Any], matches: Sequence[WatchMatch]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "frame_number": plate.frame_index,
        "anpr_result": {
            "license_plate": plate.license_plate,
            "confidence": round(plate.confidence, 4),
            "region": plate.region,
        },
        "vehicle": dict(vehicle),
    }
    if matches:
        body["watchlist"] = {"pattern": matches[0].watch_pattern, "label": matches[0].watch_label}
    return body


def match_body(
    match: WatchMatch, vehicle: Mapping[str, Any], anpr_event_id: str | None
) -> dict[str, Any]:
    return {
        "frame_number": match.frame_index,
        "license_plate": match.license_plate,
        "confidence": round(match.confidence, 4),
        "region": match.region,
        "watchlist": {
            "pattern": match.watch_pattern,
            "kind": match.watch_kind,
            "label": match.watch_label,
        },
        "vehicle": dict(vehicle),
        # The `anpr` event of the same plate read, when it came in the same frame.
        "anpr_event_id": anpr_event_id,
    }


def status_body(state: str, previous: str | None, reason: str, runner: str) -> dict[str, Any]:
    return {"state": state, "previous": previous, "reason": reason, "runner": runner}


class DetectionPolicy:
    """When an analysed frame's detections make a `detection` event: `every_frame`, any frame
    with one; `on_change`, when the set of (track id, class) changes (emptying included), and
    every `heartbeat_s` while it holds something."""

    def __init__(self, policy: EventPolicy) -> None:
        self.policy = policy
        self._last_set: Counter[tuple[int | None, str]] | None = None
        self._last_at = 0.0

    def wants(self, detections: Sequence[Mapping[str, Any]], now: float) -> bool:
        if self.policy.detection == "every_frame":
            return bool(detections)
        # A Counter: untracked objects have no identity, so their count per class is the set.
        current = Counter((d.get("track_id"), str(d["label"])) for d in detections)
        changed = current != (self._last_set or Counter())
        due = bool(current) and now - self._last_at >= self.policy.heartbeat_s
        if not (changed or due):
            return False
        self._last_set, self._last_at = current, now
        return True
