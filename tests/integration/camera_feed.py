"""What a camera runner writes, written by the tests themselves: annotated frames into a camera's
one-entry frame stream, events onto the event stream (shared.cameras.events is the contract),
and the lease and state a runner keeps in Postgres. With these the views and event routes are
tested end to end without a camera, and without the stack's runner getting in the way."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import httpx
import redis
from PIL import Image
from redis.typing import EncodableT, FieldT

from shared.cameras.events import frame_key, iso_millis, stream_fields, uuid7, viewers_key
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.integration.conftest import db_fetch

# A private address: always allowed for cameras; nothing is started there, and the API never
# connects to it.
STREAM_URL = "rtsp://192.168.77.10:554/stream1"


def bus() -> redis.Redis:
    return redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])


def add_camera(
    client: httpx.Client, headers: dict[str, str], *, held_in: str | None = "online", **fields: Any
) -> dict[str, Any]:
    """A camera of `headers`' user. By default as a runner holding it in `held_in` has it: active,
    leased for an hour to a runner that is not there, so the stack's own runner (which could not
    reach the camera) leaves it alone. With `held_in=None`, registered as `fields` say."""
    body = {"camera_id": f"cam-{uuid.uuid4().hex[:8]}", "stream_url": STREAM_URL, **fields}
    if held_in is not None:
        # Registered inactive, so that no runner claims it before the lease below is in place.
        body["status"] = "inactive"
    response = client.post("/cameras", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    if held_in is not None:
        db_fetch(
            "UPDATE cameras SET desired_state = 'active', state = $1, runner_id = 'tests',"
            " lease_until = now() + interval '1 hour', generation = 1 WHERE id = $2::uuid",
            held_in,
            created["camera_uuid"],
        )
    return created


def jpeg(text: str = "frame", size: tuple[int, int] = (64, 36)) -> bytes:
    """A real JPEG, different for each `text`."""
    out = io.BytesIO()
    Image.new("RGB", size, (hash(text) % 256, 80, 160)).save(out, "JPEG", comment=text.encode())
    return out.getvalue()


def put_frame(camera_uuid: str, number: int, entry_id: str = "*") -> bytes:
    """A frame as the runner stores it (XADD MAXLEN 1); returns its JPEG."""
    image = jpeg(f"frame-{number}")
    fields: dict[FieldT, EncodableT] = {
        "jpeg": image,
        "captured_at": iso_millis(time.time()),
        "frame_number": number,
        "width": 64,
        "height": 36,
    }
    bus().xadd(frame_key(camera_uuid), fields, id=entry_id, maxlen=1, approximate=False)
    return image


def viewers(camera_uuid: str) -> list[tuple[bytes, float]]:
    """The viewer set's members scored in the future, as the runner counts them."""
    members: Any = bus().zrangebyscore(
        viewers_key(camera_uuid), f"({time.time()}", "+inf", withscores=True
    )
    return [(member, float(score)) for member, score in members]


def set_state(camera_uuid: str, state: str) -> None:
    db_fetch("UPDATE cameras SET state = $1 WHERE id = $2::uuid", state, camera_uuid)


def publish(
    camera: dict[str, Any], owner_id: str, event_type: str = "detection", **payload: Any
) -> str:
    """One event on the stream as the runner publishes it; returns its entry id."""
    event_id = uuid7()
    timestamp = iso_millis(time.time())
    body = {
        "event_id": str(event_id),
        "event_type": event_type,
        "camera_id": camera["camera_id"],
        "camera_uuid": camera["camera_uuid"],
        "owner_id": owner_id,
        "timestamp": timestamp,
        "generation": 1,
        **payload,
    }
    fields = stream_fields(
        event_id=event_id,
        event_type=event_type,
        camera_id=camera["camera_id"],
        camera_uuid=uuid.UUID(camera["camera_uuid"]),
        owner_id=uuid.UUID(owner_id),
        timestamp=timestamp,
        generation=1,
        payload=body,
        data_field=True,
    )
    entry: dict[FieldT, EncodableT] = {name: text for name, text in fields.items()}
    entry_id: Any = bus().xadd(get_settings().events_stream, entry)
    return str(entry_id.decode())
