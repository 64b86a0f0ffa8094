"""The camera events also kept in Postgres (plate reads, watchlist matches, state changes), each
under the event_id it has on the stream, and the webhooks some of them fire: written in one
transaction through the outbox, then handed to the webhook sender.

Runs on the runner's event loop; a failure is logged and that record is lost (the stream still
has the event), never the camera."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from shared.contracts import EVENT_WATCHLIST_MATCH
from shared.db.enums import CameraEventType
from shared.enqueue import enqueue_deliveries
from shared.repositories import camera_events
from shared.repositories.camera_events import CameraEventRecord
from shared.webhooks import outbox
from worker.cameras.analysis import PlateRecord
from worker.cameras.camera import LiveCamera
from worker.cameras.events import BusEvent
from worker.cameras.status import StatusChange
from worker.engine.outputs import WatchMatch

logger = logging.getLogger(__name__)


def _camera_data(camera: LiveCamera, event: BusEvent) -> dict[str, Any]:
    return {
        "camera_id": camera.claimed.camera_id,
        "camera_uuid": str(camera.claimed.id),
        "event_id": str(event.event_id),
        "timestamp": event.payload["timestamp"],
        "generation": event.ref.generation,
    }


async def _write(
    camera: LiveCamera,
    event: BusEvent,
    kind: CameraEventType,
    plate: str | None = None,
    webhook: tuple[str, dict[str, Any]] | None = None,
) -> None:
    if not (event.farewell or camera.holds(event.ref.generation)):
        return
    record = CameraEventRecord(
        event_id=event.event_id,
        owner_id=event.ref.owner_id,
        camera_uuid=event.ref.camera_uuid,
        camera_id=event.ref.camera_id,
        type=kind,
        timestamp=datetime.fromtimestamp(event.captured_at, UTC),
        generation=event.ref.generation,
        payload=event.payload,
        plate=plate,
    )
    try:
        async with in_transaction() as conn:
            await camera_events.add(conn, record)
            deliveries = []
            if webhook is not None:
                event_type, data = webhook
                deliveries = await outbox.add_event(conn, event.ref.owner_id, event_type, data)
    except Exception:
        logger.exception("could not record the %s event of camera %s", kind, event.ref.camera_id)
        return
    if deliveries:
        await asyncio.to_thread(enqueue_deliveries, deliveries)


async def record_status(camera: LiveCamera, change: StatusChange, event: BusEvent) -> None:
    """A state change; camera.online and camera.offline go to the owner's webhooks."""
    webhook = None
    event_type = change.webhook()
    if event_type is not None:
        data = _camera_data(camera, event) | {
            "name": camera.claimed.name,
            "state": change.state.value,
            "previous": change.previous.value,
            "reason": change.reason,
        }
        webhook = (event_type, data)
    await _write(camera, event, CameraEventType.STATUS, webhook=webhook)


async def record_plate(record: PlateRecord) -> None:
    """A settled plate (`anpr`), or a watchlist match, which also fires plate.watchlist_match."""
    plate = record.plate
    if not isinstance(plate, WatchMatch):
        await _write(record.camera, record.event, CameraEventType.ANPR, plate.license_plate)
        return
    data = _camera_data(record.camera, record.event) | {
        "frame_number": plate.frame_index,
        "license_plate": plate.license_plate,
        "confidence": round(plate.confidence, 4),
        "region": plate.region,
        "vehicle_track_id": plate.vehicle_track_id,
        "watch_pattern": plate.watch_pattern,
        "watch_kind": plate.watch_kind,
        "watch_label": plate.watch_label,
    }
    await _write(
        record.camera,
        record.event,
        CameraEventType.WATCHLIST_MATCH,
        plate.license_plate,
        webhook=(EVENT_WATCHLIST_MATCH, data),
    )
