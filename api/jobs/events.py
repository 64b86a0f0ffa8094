"""A job's live progress as server-sent events.

The stream subscribes to the job's Redis channel before it reads the job from Postgres, so an
event published in between is queued rather than lost, and a client that reconnects gets the
current status as its first event (no Last-Event-ID needed). Postgres stays the record: the
terminal status is read from it, and on every quiet interval it is checked, so a missed final
event cannot keep a stream open."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import anyio
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from api.jobs.service import status_read
from shared.db.models import Job
from shared.events import job_channel
from shared.repositories import jobs as repo

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
# How long the stream waits for an event before it checks Postgres.
QUIET_CHECK_S = 5.0
SUBSCRIBE_TIMEOUT_S = 5.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _end(job_id: UUID, status: str) -> str:
    return sse("end", json.dumps({"job_id": str(job_id), "status": status}))


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


async def job_events(job_id: UUID, redis: aioredis.Redis) -> AsyncIterator[str]:
    """`status` (the current JobStatusRead), then the worker's `progress` and `status` events,
    `: keepalive` comments while quiet, and `end` after a terminal status."""
    pubsub = await _subscribe(redis, job_id)
    try:
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
