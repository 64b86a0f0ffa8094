"""Searching the camera events kept in Postgres (plate reads, watchlist matches, state
changes) and opening event streams over the Redis Stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import Request

from api.events import stream
from api.events.schemas import CameraEventList, CameraEventRead
from api.jobs.events import StreamCredential, StreamSlot
from shared.db.enums import CameraEventType
from shared.plates import normalise_plate
from shared.repositories import camera_events as repo
from shared.settings import get_settings


async def search(
    owner_id: UUID,
    *,
    camera_id: str | None,
    event_type: CameraEventType | None,
    plate: str | None,
    since: datetime | None,
    until: datetime | None,
    page: int,
    page_size: int,
) -> CameraEventList:
    """The owner's events, newest first; `plate` matches the normalised plate exactly (so
    `ab-12 cd` finds AB12CD), `since` is inclusive and `until` exclusive."""
    items, total = await repo.search(
        owner_id,
        camera_id=camera_id,
        event_type=event_type,
        plate=normalise_plate(plate) if plate is not None else None,
        since=since,
        until=until,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return CameraEventList(
        items=[CameraEventRead.of(event) for event in items],
        total=total,
        page=page,
        page_size=page_size,
    )


async def _resumed_at(
    redis: aioredis.Redis, name: str, last_event_id: str | None
) -> tuple[str, str | None]:
    """Where a stream starts, and the first entry left when it resumes past trimmed ones."""
    if last_event_id is None:
        return await stream.start_position(redis, name), None
    return last_event_id, await stream.missed_until(redis, name, last_event_id)


async def open_stream(
    request: Request,
    redis: aioredis.Redis,
    user_id: UUID,
    selection: stream.Selection,
    last_event_id: str | None,
    still_there: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """A stream of the entries `selection` keeps, from `last_event_id` or else from now.
    RateLimitedError when the user has as many streams open as allowed."""
    settings = get_settings()
    events_redis: aioredis.Redis = request.app.state.events_redis
    slot = StreamSlot(redis, user_id)
    await slot.acquire()
    try:
        position, gap_until = await _resumed_at(events_redis, settings.events_stream, last_event_id)
    except BaseException:
        await slot.release()
        raise
    return stream.bus_events(
        events_redis,
        settings.events_stream,
        position,
        selection,
        slot,
        StreamCredential.of(request),
        still_there,
        gap_until,
    )
