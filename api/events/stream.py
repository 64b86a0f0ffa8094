"""Camera events as server-sent events, read from the Redis Stream the runners append to
(VIGIL_EVENTS_STREAM on VIGIL_EVENTS_REDIS_URL).

Each message's `id:` is the stream entry's id, so a client that reconnects with Last-Event-ID
resumes exactly after the last event it got: no loss, no duplicate, as long as the entries after
it are still retained (the stream is trimmed to about VIGIL_EVENTS_MAXLEN entries). When some may
have been trimmed off, the stream says so with a `gap` message, which names the first entry still
there, rather than resuming as if nothing was missed. A stream opened without Last-Event-ID
starts at the newest entry, and its first message, `ready`, carries that position as its id, so
even a client that got no event yet resumes from where it started.

The stream holds every camera's events, so following one camera (or one owner) reads through
everyone's entries and keeps the matching ones. That costs one small dict per event per open
stream, which is fine at tens of cameras; a stream per camera or per owner would be the next
step if it stops being fine.

Streams count toward the per-user cap of api/jobs/events.py and end on sign-out as the job
event streams do (`signed_out`), and a camera's stream ends with `end` when the camera is
deleted."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from api.jobs.events import KEEPALIVE_S, StreamCredential, StreamSlot
from shared.settings import get_settings

logger = logging.getLogger(__name__)

# How long one XREAD waits for new entries at most: the loop's tick, so a signed-out or deleted
# camera's stream ends within about this long after its check is due.
MAX_BLOCK_MS = 1000
# Entries read per XREAD: a burst is drained in a few round trips.
READ_COUNT = 500
# How often a camera's stream asks Postgres whether the camera still exists.
CAMERA_CHECK_S = 3.0
# After Redis failed, the stream waits this long before reading again (from the same position).
RETRY_S = 1.0
# The position before any entry: where a stream that does not exist yet is read from.
STREAM_START = "0-0"

Fields = dict[str, str]
# A stream entry as redis-py gives it: its id and its fields, as bytes.
RawEntry = tuple[bytes, dict[bytes, bytes]]


def read_entries(reply: Any) -> list[RawEntry]:
    """The entries of an XREAD reply (RESP2: one `[stream, [entry, ...]]` per stream read) or
    of an XRANGE/XREVRANGE reply (`[entry, ...]`)."""
    if not reply:
        return []
    if isinstance(reply[0], list | tuple) and len(reply[0]) == 2 and isinstance(reply[0][1], list):
        return [entry for _, entries in reply for entry in entries]
    return list(reply)


def block_ms() -> int:
    """How long a blocking read may wait: half the Redis client's read timeout at most
    (VIGIL_REDIS_TIMEOUT_S), or the client gives up on the connection first."""
    return max(1, min(MAX_BLOCK_MS, int(get_settings().redis_timeout_s * 500)))


def message(event: str, data: str, event_id: str | None = None) -> str:
    """One server-sent event; every line of `data` gets its own `data:` field. A line break
    in the name would end the field early, so there is none."""
    event = "".join(event.splitlines())
    head = f"id: {event_id}\n" if event_id is not None else ""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"{head}event: {event}\n{lines}\n"


@dataclass(frozen=True)
class Selection:
    """Which entries a stream forwards: those whose `field` (`camera_uuid` or `owner_id`) is
    `value`, and what its `ready`, `end` and `signed_out` messages say about it."""

    field: str
    value: str
    about: dict[str, Any]

    def matches(self, fields: Fields) -> bool:
        return fields.get(self.field) == self.value


def _decoded(fields: dict[bytes, bytes]) -> Fields:
    return {key.decode(): value.decode(errors="replace") for key, value in fields.items()}


async def start_position(redis: aioredis.Redis, stream: str) -> str:
    """The newest entry's id: a stream opened now forwards what is appended after it."""
    newest = read_entries(await redis.xrevrange(stream, count=1))
    return newest[0][0].decode() if newest else STREAM_START


def _entry_id(text: str) -> tuple[int, int]:
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


async def missed_until(redis: aioredis.Redis, stream: str, after: str) -> str | None:
    """The first entry still on the stream when entries after `after` may have been trimmed
    off it: a client resuming at `after` has missed those before it. None when none was lost."""
    try:
        info = await redis.xinfo_stream(stream)
    except ResponseError:  # no such stream: nothing was ever trimmed off it
        return None
    first = info.get("first-entry")
    if first is None:
        return None
    first_id = first[0].decode()
    # Redis 7 counts the entries ever added: as many as it holds, none was ever trimmed, and a
    # stream that started empty (a position of 0-0) has lost nothing. Older ones do not say.
    trimmed = info.get("entries-added", info["length"] + 1) > info["length"]
    return first_id if trimmed and _entry_id(first_id) > _entry_id(after) else None


def _event(entry_id: str, fields: Fields) -> str:
    return message(fields.get("event_type", "message"), fields.get("payload", "{}"), entry_id)


def gap_message(selection: Selection, position: str, first_available: str) -> str:
    """No id: a client that reconnects after it still resumes from `position`, and is told
    again."""
    detail = (
        "events after last_event_id may have been trimmed off the stream (it keeps about "
        "VIGIL_EVENTS_MAXLEN): those before first_available are not sent. Plate reads, "
        "watchlist matches and state changes are kept: GET /api/v1/events finds them"
    )
    data = {"last_event_id": position, "first_available": first_available, "detail": detail}
    return message("gap", json.dumps(selection.about | data))


async def bus_events(
    redis: aioredis.Redis,
    stream: str,
    position: str,
    selection: Selection,
    slot: StreamSlot,
    credential: StreamCredential,
    still_there: Callable[[], Awaitable[bool]] | None = None,
    gap_until: str | None = None,
) -> AsyncIterator[str]:
    """`ready` (with `position` as its id); `gap` when entries after `position` were trimmed
    off (`gap_until` is the first one left); then every matching entry after `position` as it
    is appended (`event:` its event_type, `data:` its payload), `: keepalive` comments while
    quiet, `signed_out` once `credential` stops authenticating, and `end` once `still_there`
    says the camera is gone. Releases `slot` when it ends."""
    try:
        yield message("ready", json.dumps(selection.about | {"position": position}), position)
        if gap_until is not None:
            yield gap_message(selection, position, gap_until)
        last_sent = checked = time.monotonic()
        while True:
            if await credential.revoked():
                detail = "the credentials this stream was opened with are no longer valid"
                yield message("signed_out", json.dumps(selection.about | {"detail": detail}))
                return
            if still_there is not None and time.monotonic() - checked >= CAMERA_CHECK_S:
                checked = time.monotonic()
                if not await still_there():
                    yield message("end", json.dumps(selection.about | {"reason": "deleted"}))
                    return
            await slot.renew()
            try:
                reply = await redis.xread({stream: position}, count=READ_COUNT, block=block_ms())
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("camera events: cannot read %s (%s); retrying", stream, exc)
                reply = []
                await anyio.sleep(RETRY_S)
            for raw_id, raw_fields in read_entries(reply):
                position = raw_id.decode()
                fields = _decoded(raw_fields)
                if selection.matches(fields):
                    yield _event(position, fields)
                    last_sent = time.monotonic()
            if time.monotonic() - last_sent >= KEEPALIVE_S:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
    finally:
        await slot.release()
