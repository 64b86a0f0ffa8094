"""The camera events' payloads and stream entries against their published JSON Schemas, and the
detection event policy."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shared.cameras.events import EVENT_TYPES
from shared.cameras.params import EventPolicy
from tests.conftest import REPO_ROOT
from worker.cameras.events import (
    CameraRef,
    DetectionPolicy,
    EventTally,
    anpr_body,
    bounding_box,
    detection_body,
    match_body,
    model_info,
    motion_body,
    new_event,
    status_body,
    timeline_body,
    wants_motion_event,
)
from worker.engine.outputs import PlateSettled, TimelineEvent, WatchEntry, WatchMatch

SCHEMAS = REPO_ROOT / "shared" / "cameras" / "schemas"
REF = CameraRef(uuid.uuid4(), "gate-north", uuid.uuid4(), 3)
CAR = {
    "label": "car",
    "confidence": 0.91,
    "bbox": [64, 35, 192, 141],
    "bbox_normalized": [0.1, 0.1, 0.3, 0.4],
    "type": "vehicle",
    "source": "yolo",
    "detector": "objects",
    "track_id": 7,
    "zones": ["road"],
}
BLOB = {
    "label": "motion",
    "confidence": 0.3,
    "bbox": [0, 0, 64, 35],
    "bbox_normalized": [0.0, 0.0, 0.1, 0.1],
    "type": "motion",
    "source": "motion",
    "detector": "motion",
    "track_id": None,
    "zones": [],
}
PLATE = PlateSettled(
    license_plate="KA22P3368",
    confidence=0.98,
    region="in",
    bbox=(170, 479, 312, 507),
    vehicle_track_id=7,
    supporting_reads=3,
    frame_index=40,
    timestamp=2.0,
    emitted_frame_index=60,
    emitted_at=3.0,
)


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check(event_type: str, body: dict[str, Any], *, timed: bool = False) -> dict[str, str]:
    """The stream entry of an event with this body, after both schemas passed it."""
    event = new_event(REF, event_type, 1_795_000_000.123, body, EventTally(), timed=timed)
    fields = event.fields(data_field=True, now=1_795_000_000.223)
    validator("envelope").validate(fields)
    validator(event_type).validate(json.loads(fields["payload"]))
    return fields


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.stem)
def test_every_schema_is_a_valid_2020_12_schema(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_there_is_a_schema_for_every_event_type() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == {*EVENT_TYPES, "envelope"}


def test_a_detection_event_has_the_camera_analytics_shape() -> None:
    info = {"model_type": "yolov8n", "version": "8.4.30", "format": "openvino-int8", "sha256": None}
    fields = check("detection", detection_body(12, 640, 352, [CAR], info), timed=True)
    payload = json.loads(fields["payload"])
    assert fields["data"] == fields["payload"]
    assert payload["timestamp"] == "2026-11-18T11:06:40.123Z"
    assert payload["latency_ms"] == {"capture_to_publish": 100}
    (car,) = payload["detections"]
    assert car == {
        "class_name": "car",
        "confidence": 0.91,
        "bounding_box": {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.3},
        "track_id": 7,
        "type": "vehicle",
        "zones": ["road"],
    }


def test_motion_events_carry_the_moving_regions_and_percent_of_the_frame() -> None:
    motion = {"motion_intensity": 0.31, "affected_area_percentage": 5.57, "moving": True}
    payload = json.loads(check("motion", motion_body(3, motion, [CAR, BLOB]))["payload"])
    assert payload["affected_area_percentage"] == 5.57
    assert payload["boxes"] == [{"x": 0.0, "y": 0.0, "width": 0.1, "height": 0.1}]
    assert wants_motion_event(motion, 0.3)
    assert not wants_motion_event(motion, 0.5)
    assert not wants_motion_event({**motion, "moving": False}, 0.0)
    assert not wants_motion_event(None, 0.0)


def test_plate_events_link_the_reading_and_the_watchlist_match() -> None:
    entry = WatchEntry("exact", "KA22P3368", "stolen")
    match = WatchMatch.of(PLATE, entry)
    vehicle = {"class_name": "car", "track_id": 7, "bounding_box": bounding_box([0.1, 0.4, 0.9, 1])}
    anpr = json.loads(check("anpr", anpr_body(PLATE, vehicle, [match]))["payload"])
    assert anpr["anpr_result"] == {"license_plate": "KA22P3368", "confidence": 0.98, "region": "in"}
    assert anpr["watchlist"] == {"pattern": "KA22P3368", "label": "stolen"}
    assert "watchlist" not in anpr_body(PLATE, vehicle, [])
    found = json.loads(
        check("watchlist_match", match_body(match, vehicle, anpr["event_id"]))["payload"]
    )
    assert found["anpr_event_id"] == anpr["event_id"]
    untracked = {"class_name": None, "track_id": None, "bounding_box": None}
    check("anpr", anpr_body(PLATE, untracked, []))


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("zone_enter", {"zone": "road", "track_id": 4, "label": "car"}),
        (
            "zone_exit",
            {"zone": "road", "track_id": 4, "label": "car", "dwell_s": 2.5, "reason": "left"},
        ),
        ("loitering", {"zone": "road", "track_id": 4, "label": "car", "dwell_s": 30.0}),
        ("line_crossed", {"line": "gate", "direction": "in", "track_id": 4, "label": "person"}),
        ("crowd_level", {"from": None, "to": "busy", "people_count": 12}),
        ("motion_start", {"segment": 0, "peak_intensity": 0.4}),
        ("motion_end", {"segment": 0, "peak_intensity": 0.4, "duration_s": 9.6}),
    ],
)
def test_timeline_events_keep_the_engine_s_fields(event_type: str, data: dict[str, Any]) -> None:
    timeline = TimelineEvent(
        type=event_type, frame_index=9, timestamp=1.5, emitted_frame_index=9, emitted_at=1.5,
        data=data,
    )  # fmt: skip
    payload = json.loads(check(event_type, timeline_body(timeline))["payload"])
    assert payload["frame_number"] == 9
    assert {key: payload[key] for key in data} == data


def test_status_events() -> None:
    check("status", status_body("reconnecting", "online", "no frame for 10 s", "host-1-abc"))
    check("status", status_body("starting", None, "claimed", "host-1-abc"))


def test_every_frame_reports_each_frame_with_objects() -> None:
    policy = DetectionPolicy(EventPolicy(detection="every_frame"))
    assert policy.wants([CAR], 0.0)
    assert policy.wants([CAR], 0.1)
    assert not policy.wants([], 0.2)


def test_on_change_reports_changes_and_heartbeats() -> None:
    policy = DetectionPolicy(EventPolicy(detection="on_change", heartbeat_s=10))
    assert not policy.wants([], 0.0)
    assert policy.wants([CAR], 1.0)
    assert not policy.wants([{**CAR, "confidence": 0.5}], 2.0)  # same object
    assert policy.wants([CAR, {**CAR, "track_id": 8}], 3.0)  # one more
    assert not policy.wants([CAR, {**CAR, "track_id": 8}], 12.9)
    assert policy.wants([CAR, {**CAR, "track_id": 8}], 13.0)  # heartbeat
    assert policy.wants([], 14.0)  # everything left: a change too
    assert not policy.wants([], 40.0)  # no heartbeat for nothing


def test_model_info_names_the_export() -> None:
    info = model_info("yolov8n_int8_openvino_model")
    assert info["model_type"] == "yolov8n"
    assert info["format"] == "openvino-int8"
    assert info["version"]
    assert len(info["sha256"]) == 64
