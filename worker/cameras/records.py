"""The camera events also kept in Postgres (plate reads, watchlist matches, state changes), each
under the event_id it has on the stream, and the webhooks some of them fire: written in one
transaction through the outbox, then handed to the webhook sender.

Only the camera's current generation writes: while a changed camera briefly runs twice (the old
copy until its renewal notices), the old one's rows and webhooks are skipped, in the same
transaction that would write them. A farewell (the last status of a generation let go) is
written whatever the generation: it is about that generation's end.

Runs on the runner's event loop; a failure is logged and that record is lost (the stream still
has the event), never the camera."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
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


# FOR SHARE: a claim or an API change bumping the generation waits for this transaction, so a
# row of the old generation is never written after the bump.
CURRENT_SQL = "SELECT generation FROM cameras WHERE id = $1 FOR SHARE"


def _camera_data(event: BusEvent) -> dict[str, Any]:
    return {
        "camera_id": event.ref.camera_id,
        "camera_uuid": str(event.ref.camera_uuid),
        "event_id": str(event.event_id),
        "timestamp": event.payload["timestamp"],
        "generation": event.ref.generation,
    }


async def _current(conn: BaseDBAsyncClient, event: BusEvent) -> bool:
    """The event's generation is the camera's current one (or a farewell)."""
    if event.farewell:
        return True
    rows = await conn.execute_query_dict(CURRENT_SQL, [str(event.ref.camera_uuid)])
    return bool(rows) and rows[0]["generation"] <= event.ref.generation


async def _write(
    event: BusEvent,
    kind: CameraEventType,
    plate: str | None = None,
    webhook: tuple[str, dict[str, Any]] | None = None,
) -> None:
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
            if not await _current(conn, event):
                logger.info(
                    "camera %s changed meanwhile: its %s event of generation %d is not recorded",
                    event.ref.camera_id, kind, event.ref.generation,
                )  # fmt: skip
                return
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


def _held(camera: LiveCamera, event: BusEvent) -> bool:
    return event.farewell or camera.holds(event.ref.generation)


async def record_status(camera: LiveCamera, change: StatusChange, event: BusEvent) -> None:
    """A state change of a held camera; camera.online and camera.offline go to the owner's
    webhooks."""
    if _held(camera, event):
        await record_change(camera.claimed.name, change, event, change.webhook())


async def record_change(
    name: str | None, change: StatusChange, event: BusEvent, webhook_type: str | None
) -> None:
    """A state change, with the webhook it fires (if any): also for cameras this runner does
    not hold (a dead runner's, which it sweeps)."""
    webhook = None
    if webhook_type is not None:
        data = _camera_data(event) | {
            "name": name,
            "state": change.state.value,
            "previous": change.previous.value,
            "reason": change.reason,
        }
        webhook = (webhook_type, data)
    await _write(event, CameraEventType.STATUS, webhook=webhook)


async def record_plate(record: PlateRecord) -> None:
    """A settled plate (`anpr`), or a watchlist match, which also fires plate.watchlist_match."""
    plate = record.plate
    if not _held(record.camera, record.event):
        return
    if not isinstance(plate, WatchMatch):
        await _write(record.event, CameraEventType.ANPR, plate.license_plate)
        return
    data = _camera_data(record.event) | {
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
        record.event,
        CameraEventType.WATCHLIST_MATCH,
        plate.license_plate,
        webhook=(EVENT_WATCHLIST_MATCH, data),
    )
