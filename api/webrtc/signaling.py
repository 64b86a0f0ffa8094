"""The API's side of the live view's signaling over Redis (shared/live/protocol.py): is a live
service up, reserve and give back a session's place, hand an offer over and wait for its
answer, read session records, ask a session's holder to close it.

The API's Redis client gives up on a read after VIGIL_REDIS_TIMEOUT_S, so every blocking wait
here is a loop of short BLPOPs, each well inside that timeout."""

from __future__ import annotations

import math
import time
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis

from shared.cameras.events import viewers_key
from shared.live.protocol import (
    CLOSE_ACK_TIMEOUT_S,
    CONTROL_TTL_S,
    INDEX_TTL_S,
    OFFERS_KEY,
    OFFERS_MAX,
    OFFERS_TTL_S,
    PROCESSES_KEY,
    RESERVE_SCRIPT,
    RESERVED,
    SESSIONS_KEY,
    Answer,
    CloseAck,
    CloseRequest,
    OfferFailure,
    OfferRequest,
    SessionRecord,
    control_key,
    new_reply_key,
    parse_reply,
    session_key,
    user_sessions_key,
)
from shared.settings import get_settings


async def live_available(redis: aioredis.Redis) -> bool:
    return bool(await redis.zcount(PROCESSES_KEY, f"({time.time()}", "+inf"))


async def process_alive(redis: aioredis.Redis, process_id: str) -> bool:
    expiry: Any = await redis.zscore(PROCESSES_KEY, process_id)
    return expiry is not None and float(expiry) > time.time()


async def reserve(
    redis: aioredis.Redis, owner_id: UUID, session_id: str, until: float, per_user: int, total: int
) -> tuple[int, int]:
    """(RESERVED, 0) when the session has its place in both indexes; otherwise which cap is
    full (OVER_USER_CAP, OVER_GLOBAL_CAP) and the seconds until its earliest place lapses."""
    now = time.time()
    reply: Any = await redis.register_script(RESERVE_SCRIPT)(
        keys=[SESSIONS_KEY, user_sessions_key(owner_id)],
        args=[now, until, session_id, per_user, total, INDEX_TTL_S],
    )
    outcome, earliest = int(reply[0]), float(reply[1])
    if outcome == RESERVED:
        return RESERVED, 0
    return outcome, max(1, math.ceil(earliest - now))


async def release(
    redis: aioredis.Redis, owner_id: UUID | str, session_id: str, camera_uuid: str | None = None
) -> None:
    """Remove a session's keys: its place in the indexes, its record and, given its camera,
    its member of the camera's viewer set."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(SESSIONS_KEY, session_id)
        pipe.zrem(user_sessions_key(owner_id), session_id)
        pipe.delete(session_key(session_id))
        if camera_uuid is not None:
            pipe.zrem(viewers_key(camera_uuid), session_id)
        await pipe.execute()


def _poll_s() -> float:
    """How long one blocking read may wait: half the client's read timeout."""
    return max(0.1, get_settings().redis_timeout_s / 2)


async def _wait_reply(redis: aioredis.Redis, key: str, timeout_s: float) -> bytes | None:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        popped: Any = await redis.blpop([key], timeout=min(left, _poll_s()))
        if popped is not None:
            value: bytes = popped[1]
            return value
    return None


async def exchange(
    redis: aioredis.Redis, request: OfferRequest, timeout_s: float
) -> Answer | OfferFailure | None:
    """Queue the offer and wait for its answer; None when none came in `timeout_s`."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lpush(OFFERS_KEY, request.model_dump_json())
        # The oldest are at the right, where live processes pop.
        pipe.ltrim(OFFERS_KEY, 0, OFFERS_MAX - 1)
        pipe.expire(OFFERS_KEY, OFFERS_TTL_S)
        await pipe.execute()
    raw = await _wait_reply(redis, request.reply_to, timeout_s)
    return parse_reply(raw) if raw is not None else None


async def session_ids(redis: aioredis.Redis, owner_id: UUID) -> list[str]:
    """The owner's sessions in the index, the soonest to lapse first (reservations
    included)."""
    ids: Any = await redis.zrangebyscore(user_sessions_key(owner_id), f"({time.time()}", "+inf")
    return [value.decode() for value in ids]


async def records(redis: aioredis.Redis, ids: list[str]) -> list[SessionRecord]:
    """The records of the sessions in `ids` that exist (a reservation has none yet)."""
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in ids:
            pipe.hgetall(session_key(session_id))
        replies = await pipe.execute()
    found = (SessionRecord.from_fields(i, fields) for i, fields in zip(ids, replies, strict=True))
    return [record for record in found if record is not None]


async def record(redis: aioredis.Redis, session_id: str) -> SessionRecord | None:
    fields: Any = await redis.hgetall(session_key(session_id))
    return SessionRecord.from_fields(session_id, fields)


async def close(redis: aioredis.Redis, found: SessionRecord) -> None:
    """Ask the session's holder to close it and wait for its word; when the holder does not
    answer (it is gone, or cannot read Redis now), remove the session's keys here. The request
    stays in the holder's list, and the holder closes any session whose record is gone, so the
    peer ends all the same once the holder reads Redis again."""
    if await process_alive(redis, found.process_id):
        reply_to = new_reply_key()
        request = CloseRequest(session_id=found.session_id, reply_to=reply_to)
        key = control_key(found.process_id)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, request.model_dump_json())
            pipe.expire(key, CONTROL_TTL_S)
            await pipe.execute()
        raw = await _wait_reply(redis, reply_to, CLOSE_ACK_TIMEOUT_S)
        if raw is not None and CloseAck.model_validate_json(raw).closed:
            return
    await release(redis, found.owner_id, found.session_id, found.camera_uuid)
