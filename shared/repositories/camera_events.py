"""Camera events kept in Postgres for search (plate reads, watchlist matches, state changes):
written by the camera runners, each under the `event_id` it also has on the Redis Stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from shared.db.enums import CameraEventType
from shared.db.models import CameraEvent


@dataclass(frozen=True)
class CameraEventRecord:
    event_id: UUID
    owner_id: UUID
    camera_uuid: UUID
    camera_id: str
    type: CameraEventType
    timestamp: datetime
    generation: int
    payload: dict[str, Any]
    plate: str | None = None


async def add(conn: BaseDBAsyncClient, record: CameraEventRecord) -> None:
    """One event, in the caller's transaction (with the webhooks it fires, if any)."""
    await CameraEvent.create(
        event_id=record.event_id,
        owner_id=record.owner_id,
        camera_uuid=record.camera_uuid,
        camera_id=record.camera_id,
        type=record.type,
        plate=record.plate,
        timestamp=record.timestamp,
        generation=record.generation,
        payload=record.payload,
        using_db=conn,
    )


async def search(
    owner_id: UUID,
    *,
    camera_id: str | None,
    event_type: CameraEventType | None,
    plate: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[list[CameraEvent], int]:
    """The owner's events that match every filter given, newest capture first, and how many
    match. `plate` is compared as stored (normalised), `since` inclusive, `until` exclusive."""
    query = CameraEvent.filter(owner_id=owner_id)
    if camera_id is not None:
        query = query.filter(camera_id=camera_id)
    if event_type is not None:
        query = query.filter(type=event_type)
    if plate is not None:
        query = query.filter(plate=plate)
    if since is not None:
        query = query.filter(timestamp__gte=since)
    if until is not None:
        query = query.filter(timestamp__lt=until)
    total = await query.count()
    items = await query.order_by("-timestamp", "-id").offset(offset).limit(limit)
    return list(items), total
