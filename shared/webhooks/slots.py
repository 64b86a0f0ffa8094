"""Webhook attempts in flight, per endpoint and per owner, counted in Redis across every sender
process and host, so that one tenant's slow receivers cannot hold all the senders.

A slot is a member of one sorted set per limit, scored with the time it expires: a sender killed
mid-attempt (its hard time limit) leaves a slot that lapses by itself. Redis' own clock scores
them, so the senders' clocks do not matter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

import redis

PREFIX = "webhooks:inflight"
DEFERRALS = "webhooks:deferred"

# KEYS: the sets; ARGV: the slot's token, its lifetime in ms, then each set's limit. All or none.
_ACQUIRE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('PEXPIRE', key, ttl)
end
return 1
"""


@dataclass(frozen=True)
class Limit:
    """At most `most` slots at once under `key`."""

    key: str
    most: int


@dataclass(frozen=True)
class Slot:
    keys: tuple[str, ...]
    # Unique per acquisition: two messages for one delivery must not free each other's slot.
    token: str


def limits(
    owner_id: UUID, endpoint_id: UUID | None, per_owner: int, per_endpoint: int
) -> list[Limit]:
    """The limits an attempt counts against: its owner's and, unless it goes to a job's
    callback_url, its endpoint's."""
    owned = [Limit(f"{PREFIX}:owner:{owner_id}", per_owner)]
    if endpoint_id is None:
        return owned
    return [*owned, Limit(f"{PREFIX}:endpoint:{endpoint_id}", per_endpoint)]


def acquire(client: redis.Redis, wanted: list[Limit], ttl_s: float) -> Slot | None:
    """A slot under every limit, held for at most `ttl_s`; None when any limit is reached."""
    token = uuid.uuid4().hex
    keys = [limit.key for limit in wanted]
    args: list[str | int] = [token, max(1, round(ttl_s * 1000))]
    args += [limit.most for limit in wanted]
    taken = client.eval(_ACQUIRE, len(keys), *keys, *args)
    return Slot(tuple(keys), token) if taken else None


def release(client: redis.Redis, slot: Slot) -> None:
    with client.pipeline(transaction=False) as pipe:
        for key in slot.keys:
            pipe.zrem(key, slot.token)
        pipe.execute()


def count_deferral(client: redis.Redis, delivery_id: UUID, keep_s: float) -> int:
    """How many times in a row the delivery has now found no slot (1 the first time)."""
    key = f"{DEFERRALS}:{delivery_id}"
    with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, max(1, round(keep_s)))
        count, _ = pipe.execute()
    return int(count)


def forget_deferrals(client: redis.Redis, delivery_id: UUID) -> None:
    client.delete(f"{DEFERRALS}:{delivery_id}")
