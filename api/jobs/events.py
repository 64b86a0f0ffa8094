"""A job's live progress as server-sent events.

The stream subscribes to the job's Redis channel before it reads the job from Postgres, so an
event published in between is queued rather than lost, and a client that reconnects gets the
current status as its first event (no Last-Event-ID needed). Postgres stays the record: the
terminal status is read from it, and on every quiet interval it is checked, so a missed final
event cannot keep a stream open.

Each stream holds a Redis connection and a task for as long as its job runs, so a user has at
most MAX_STREAMS_PER_USER open at once, counted in Redis across every API process.

A stream outlives the request that opened it, so it re-checks that request's credential every
CREDENTIAL_CHECK_S: after a password change, "sign out everywhere", or the revocation of the
API key it was opened with, it sends `signed_out` and ends."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import redis.asyncio as aioredis
from fastapi import Request
from redis.asyncio.client import PubSub

from api.jobs.service import status_read
from shared.db.models import Job
from shared.errors import RateLimitedError
from shared.events import job_channel
from shared.repositories import api_keys as api_keys_repo
from shared.repositories import jobs as repo
from shared.repositories import users as users_repo

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
# How long the stream waits for an event before it checks Postgres.
QUIET_CHECK_S = 5.0
SUBSCRIBE_TIMEOUT_S = 5.0
# Below QUIET_CHECK_S, so that every wake-up of a quiet stream checks: a signed-out stream ends
# within about QUIET_CHECK_S.
CREDENTIAL_CHECK_S = 3.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

MAX_STREAMS_PER_USER = 10
# A slot is renewed while its stream runs; one whose API process died lapses after SLOT_TTL_S,
# so a crash cannot lock its user out for longer.
SLOT_TTL_S = 60
SLOT_RENEW_S = 15
# Streams end when their jobs do; this is a hint, not a promise that a slot is free by then.
STREAMS_RETRY_AFTER_S = 15


class StreamSlot:
    """One of a user's concurrent event streams: a member of the user's Redis sorted set whose
    score is the time it lapses. Like the rate limits, the cap fails open when Redis is down."""

    def __init__(self, redis: aioredis.Redis, user_id: UUID) -> None:
        self.redis = redis
        self.key = f"sse:streams:{user_id}"
        self.member = uuid.uuid4().hex
        self.renewed = time.monotonic()

    async def acquire(self) -> None:
        """Take a slot; RateLimitedError when the user already has the most streams open."""
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self.key, "-inf", now)
                pipe.zadd(self.key, {self.member: now + SLOT_TTL_S})
                pipe.zcard(self.key)
                pipe.expire(self.key, SLOT_TTL_S)
                _, _, count, _ = await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            logger.warning("event streams not capped: Redis is unreachable (%s)", exc)
            return
        if count > MAX_STREAMS_PER_USER:
            await self.release()
            raise RateLimitedError(
                f"too many event streams (more than {MAX_STREAMS_PER_USER} open at once for "
                f"this user); close one, or retry in {STREAMS_RETRY_AFTER_S} s",
                limit=MAX_STREAMS_PER_USER,
                retry_after=STREAMS_RETRY_AFTER_S,
            )

    async def renew(self) -> None:
        if time.monotonic() - self.renewed < SLOT_RENEW_S:
            return
        self.renewed = time.monotonic()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(self.key, {self.member: time.time() + SLOT_TTL_S}, xx=True)
                pipe.expire(self.key, SLOT_TTL_S)
                await pipe.execute()
        except (aioredis.RedisError, OSError):
            logger.warning("could not renew an event stream's slot; it lapses in %s s", SLOT_TTL_S)

    async def release(self) -> None:
        # Shielded: on a client disconnect the stream is being cancelled, and the slot must
        # still be given back.
        with anyio.CancelScope(shield=True):
            try:
                await self.redis.zrem(self.key, self.member)
            except (aioredis.RedisError, OSError):
                logger.warning(
                    "could not release an event stream's slot; it lapses in %s s", SLOT_TTL_S
                )


@dataclass
class StreamCredential:
    """The bearer token (its user and token version) or API key a stream was opened with."""

    user_id: UUID
    token_version: int | None
    api_key_id: UUID | None
    checked: float = 0.0

    @classmethod
    def of(cls, request: Request) -> StreamCredential:
        """From the request state that api/deps.py's `authenticated` wrote."""
        key_id: str | None = getattr(request.state, "api_key_id", None)
        return cls(
            user_id=UUID(request.state.user_id),
            token_version=getattr(request.state, "token_version", None),
            api_key_id=UUID(key_id) if key_id else None,
            checked=time.monotonic(),
        )

    async def revoked(self) -> bool:
        """Whether the credential has stopped authenticating; asks Postgres at most every
        CREDENTIAL_CHECK_S."""
        if time.monotonic() - self.checked < CREDENTIAL_CHECK_S:
            return False
        self.checked = time.monotonic()
        if self.api_key_id is not None:
            return not await api_keys_repo.is_live(self.api_key_id, datetime.now(UTC))
        user = await users_repo.get_active(self.user_id)
        return user is None or user.token_version != self.token_version


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _end(job_id: UUID, status: str) -> str:
    return sse("end", json.dumps({"job_id": str(job_id), "status": status}))


def _signed_out(job_id: UUID) -> str:
    detail = "the credentials this stream was opened with are no longer valid"
    return sse("signed_out", json.dumps({"job_id": str(job_id), "detail": detail}))


def _status(job: Job) -> str:
    return sse("status", status_read(job).model_dump_json())


async def _subscribe(redis: aioredis.Redis, job_id: UUID) -> PubSub | None:
    """The job's channel, once Redis has confirmed the subscription: sending SUBSCRIBE is not
    enough, since Redis may still run a PUBLISH that arrived meanwhile on another connection
    first."""
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(job_channel(job_id))
        confirmation = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
    except (aioredis.RedisError, OSError):
        confirmation = None
    except BaseException:
        # Above all a cancellation (the client left while Redis was answering): the caller
        # never gets the PubSub to close, so its connection would be lost to the pool.
        await _close(pubsub)
        raise
    if confirmation is not None and confirmation.get("type") == "subscribe":
        return pubsub
    logger.warning("cannot listen for job %s events; following Postgres only", job_id)
    await _close(pubsub)
    return None


async def _close(pubsub: PubSub) -> None:
    # Shielded: on a client disconnect the stream is being cancelled, and the connection must
    # still go back to the pool.
    with anyio.CancelScope(shield=True):
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _next_event(pubsub: PubSub | None, job_id: UUID) -> dict[str, Any] | None:
    """The next published event, or None after a quiet interval."""
    if pubsub is None:
        await anyio.sleep(QUIET_CHECK_S)
        return None
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=QUIET_CHECK_S)
    if message is None or message.get("type") != "message":
        return None
    try:
        event: Any = json.loads(message["data"])
    except (ValueError, TypeError):
        logger.warning("job %s: ignoring an undecodable event", job_id)
        return None
    return event if isinstance(event, dict) else None


async def job_events(
    job_id: UUID, redis: aioredis.Redis, slot: StreamSlot, credential: StreamCredential
) -> AsyncIterator[str]:
    """`status` (the current JobStatusRead), then the worker's `progress` and `status` events,
    `: keepalive` comments while quiet, and `end` after a terminal status, or `signed_out` once
    `credential` no longer authenticates. Releases `slot` when it ends (a stream that never
    starts leaves it to lapse)."""
    pubsub: PubSub | None = None
    try:
        pubsub = await _subscribe(redis, job_id)
        job = await repo.get(job_id)
        if job is None:
            yield _end(job_id, "deleted")
            return
        yield _status(job)
        if job.status.is_terminal:
            yield _end(job_id, job.status)
            return
        last_sent = time.monotonic()
        while True:
            if await credential.revoked():
                yield _signed_out(job_id)
                return
            await slot.renew()
            try:
                event = await _next_event(pubsub, job_id)
            except (aioredis.RedisError, OSError):
                logger.warning("job %s: lost the event channel; following Postgres", job_id)
                if pubsub is not None:
                    await _close(pubsub)
                pubsub, event = None, None
            if event is not None and event.get("event") != "status":
                yield sse(str(event.get("event", "message")), json.dumps(event))
                last_sent = time.monotonic()
                continue
            if event is None or event.get("status") in ("completed", "failed"):
                # A quiet interval or a terminal event: Postgres says where the job stands.
                job = await repo.get(job_id)
                if job is None:
                    yield _end(job_id, "deleted")
                    return
                if job.status.is_terminal:
                    yield _status(job)
                    yield _end(job_id, job.status)
                    return
            if event is not None:
                yield sse("status", json.dumps(event))
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= KEEPALIVE_S:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
    finally:
        if pubsub is not None:
            await _close(pubsub)
        await slot.release()
