"""The API's HTTP metrics: counted in each process, added up in Redis (a Redis of the test's
own), exported from there whichever process a scrape reaches."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from api.metrics.http import HttpCollector, HttpCounts
from tests.fixtures.redis_server import RedisServer

STATUS = "/api/v1/jobs/{job_id}/status"


def _flush(counts: HttpCounts, url: str) -> None:
    async def flush() -> None:
        client = aioredis.Redis.from_url(url)
        try:
            await counts.flush(client)
        finally:
            await client.aclose()

    asyncio.run(flush())


def _registry(url: str, prefix: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(HttpCollector(redis.Redis.from_url(url), prefix))
    return registry


def test_processes_add_up_and_buckets_are_cumulative(own_redis: RedisServer) -> None:
    first, second = HttpCounts("test:add-up"), HttpCounts("test:add-up")
    first.observe("GET", STATUS, 200, 0.004)
    first.observe("GET", STATUS, 200, 0.2)
    second.observe("GET", STATUS, 200, 0.005)
    second.observe("GET", STATUS, 401, 30.0)
    for counts in (first, second):
        _flush(counts, own_redis.url)
    sample = _registry(own_redis.url, "test:add-up").get_sample_value
    labels = {"method": "GET", "route": STATUS}
    assert sample("vigil_http_requests_total", labels | {"status": "200"}) == 3
    assert sample("vigil_http_requests_total", labels | {"status": "401"}) == 1
    # A duration on a bound counts in that bucket; past the last, in +Inf alone.
    assert sample("vigil_http_request_duration_seconds_bucket", labels | {"le": "0.005"}) == 2
    assert sample("vigil_http_request_duration_seconds_bucket", labels | {"le": "0.25"}) == 3
    assert sample("vigil_http_request_duration_seconds_bucket", labels | {"le": "10.0"}) == 3
    assert sample("vigil_http_request_duration_seconds_bucket", labels | {"le": "+Inf"}) == 4
    assert sample("vigil_http_request_duration_seconds_count", labels) == 4
    assert sample("vigil_http_request_duration_seconds_sum", labels) == pytest.approx(30.209)


def test_counts_wait_out_a_redis_outage_and_land_once(own_redis: RedisServer) -> None:
    counts = HttpCounts("test:outage")
    counts.observe("GET", STATUS, 200, 0.01)
    own_redis.stop()
    try:
        _flush(counts, own_redis.url)
        counts.observe("GET", STATUS, 200, 0.01)
    finally:
        own_redis.start()
    _flush(counts, own_redis.url)
    _flush(counts, own_redis.url)
    sample = _registry(own_redis.url, "test:outage").get_sample_value
    labels = {"method": "GET", "route": STATUS, "status": "200"}
    assert sample("vigil_http_requests_total", labels) == 2
