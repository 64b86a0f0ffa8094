"""Camera events on the Redis Stream (VIGIL_EVENTS_STREAM, `stream:events` by default), and the
Redis keys the runners and the API share for one camera.

Every stream entry has flat string fields, so consumers can route without parsing JSON:
`event_id` (a UUIDv7: unique, time-ordered, the dedupe key), `event_type`, `camera_id` (the
owner's id), `camera_uuid` (global), `owner_id`, `timestamp` (capture time, ISO 8601 UTC with
milliseconds), `schema` (SCHEMA, versioned), `generation`, `payload` (the whole event as JSON)
and, when VIGIL_EVENTS_DATA_FIELD is on, `data` (the same JSON)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

SCHEMA = "vigil.camera_event/1"

# Event types on the stream. The timeline types are those the analysis engine computes.
DETECTION, MOTION, ANPR, STATUS = "detection", "motion", "anpr", "status"
TIMELINE_TYPES = (
    "zone_enter",
    "zone_exit",
    "loitering",
    "line_crossed",
    "crowd_level",
    "motion_start",
    "motion_end",
    "watchlist_match",
)
EVENT_TYPES = (DETECTION, MOTION, ANPR, STATUS, *TIMELINE_TYPES)

# Pub/sub channel that tells runners a camera changed (created, updated, deleted), so they act
# at once instead of at their next lease renewal.
CAMERAS_CHANGED_CHANNEL = "vigil:cameras:changed"


def frame_key(camera_uuid: UUID | str) -> str:
    """One-entry stream (MAXLEN 1) with the camera's latest annotated JPEG."""
    return f"vigil:camera:{camera_uuid}:frame"


def viewers_key(camera_uuid: UUID | str) -> str:
    """Sorted set of viewers (snapshot, MJPEG, live view) scored by when they stop watching;
    the runner annotates every frame only while it holds a live member."""
    return f"vigil:camera:{camera_uuid}:viewers"


def uuid7() -> UUID:
    """RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC variant
    return uuid.UUID(int=value)


def iso_millis(moment: datetime | float) -> str:
    """`2026-11-29T13:29:12.345Z`, from an aware datetime or a Unix time in seconds."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stream_fields(
    *,
    event_id: UUID,
    event_type: str,
    camera_id: str,
    camera_uuid: UUID,
    owner_id: UUID,
    timestamp: str,
    generation: int,
    payload: Mapping[str, Any],
    data_field: bool,
) -> dict[str, str]:
    body = json.dumps(payload, separators=(",", ":"))
    fields = {
        "event_id": str(event_id),
        "event_type": event_type,
        "camera_id": camera_id,
        "camera_uuid": str(camera_uuid),
        "owner_id": str(owner_id),
        "timestamp": timestamp,
        "schema": SCHEMA,
        "generation": str(generation),
        "payload": body,
    }
    if data_field:
        fields["data"] = body
    return fields
