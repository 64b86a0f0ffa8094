"""The rate limits' counting script, against a Redis of the test's own: every check of a request
in one round trip, in order, stopping at the first refusal."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis
import redis.asyncio as aioredis

from api.ratelimit import Check, Rule, hit_all, window
from shared.errors import RateLimitedError
from shared.ops.localstack import free_port
from tests.fixtures.redis_server import RedisServer

TWO = Rule("test_two", lambda _: 2, 60, "per minute under the rule of two")
FIVE = Rule("test_five", lambda _: 5, 60, "per minute under the rule of five")


@pytest.fixture(autouse=True)
def inside_one_window() -> None:
    """A test crossing the end of a minute would see its counts start again."""
    _, left = window(time.time(), 60)
    if left < 5:
        time.sleep(left + 0.1)


def _hit(url: str, checks: list[Check]) -> None:
    async def count() -> None:
        client = aioredis.Redis.from_url(url)
        try:
            await hit_all(client, checks)
        finally:
            await client.aclose()

    asyncio.run(count())


def _count(server: RedisServer, rule: Rule, identity: str) -> int:
    number, _ = window(time.time(), rule.period_s)
    value = redis.Redis.from_url(server.url).get(f"ratelimit:{rule.name}:{identity}:{number}")
    return int(value or 0)


def test_a_refusal_by_one_check_is_not_counted_by_the_next(own_redis: RedisServer) -> None:
    address, user = uuid.uuid4().hex, uuid.uuid4().hex
    checks = [(TWO, address), (FIVE, user)]
    for _ in range(2):
        _hit(own_redis.url, checks)
    assert (_count(own_redis, TWO, address), _count(own_redis, FIVE, user)) == (2, 2)
    with pytest.raises(RateLimitedError, match="more than 2 per minute under the rule of two"):
        _hit(own_redis.url, checks)
    assert (_count(own_redis, TWO, address), _count(own_redis, FIVE, user)) == (3, 2)


def test_a_later_check_refuses_with_its_own_limit(own_redis: RedisServer) -> None:
    user = uuid.uuid4().hex
    for _ in range(2):
        _hit(own_redis.url, [(FIVE, uuid.uuid4().hex), (TWO, user)])
    with pytest.raises(
        RateLimitedError, match="more than 2 per minute under the rule of two"
    ) as refused:
        _hit(own_redis.url, [(FIVE, uuid.uuid4().hex), (TWO, user)])
    assert refused.value.headers["X-RateLimit-Limit"] == "2"
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60


def test_counting_survives_a_flushed_script_cache(own_redis: RedisServer) -> None:
    identity = uuid.uuid4().hex
    _hit(own_redis.url, [(FIVE, identity)])
    # As after a Redis restart: EVALSHA no longer finds the script, EVAL loads it again.
    redis.Redis.from_url(own_redis.url).script_flush()
    _hit(own_redis.url, [(FIVE, identity)])
    assert _count(own_redis, FIVE, identity) == 2


def test_an_unreachable_redis_lets_requests_through() -> None:
    for _ in range(3):
        _hit(f"redis://127.0.0.1:{free_port()}/0", [(TWO, "anyone")])
