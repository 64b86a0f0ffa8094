"""The API's HTTP metrics, added up in Redis across every API process.

The API serves with several processes (VIGIL_API_WORKERS), and a scrape reaches one of them: a
registry in each would export that process's counts alone, a different one at each scrape.
Each process instead counts its requests in memory, cheaply, and adds them to Redis hashes in
one transaction every FLUSH_INTERVAL_S (and as it stops, and before it answers a scrape); the
scrape exports the hashes, as it does the workers' metrics (shared/metrics.py). Another
process's last second may be missing from a scrape, never counted twice; while Redis is
unreachable the counts wait in memory for the next flush."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

import redis
import redis.asyncio as aioredis
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from shared.metrics import INF, PREFIX, SEPARATOR

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
WARN_EVERY_S = 60.0
# prometheus_client's default buckets, which these metrics had as an in-process Histogram.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_BOUNDS = tuple(str(bound) for bound in DURATION_BUCKETS)
# Fields `{method}|{route}|{status}`; `{method}|{route}|{bucket bound}` (not cumulative);
# `{method}|{route}`.
REQUESTS = "http_requests"
DURATION_BUCKET_COUNTS = "http_duration_buckets"
DURATION_SUM = "http_duration_sum"


class HttpCounts:
    """This process's requests since its last flush."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.requests: Counter[str] = Counter()
        self.buckets: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._last_warning = -math.inf

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = f"{method}{SEPARATOR}{route}"
        self.requests[f"{series}{SEPARATOR}{status}"] += 1
        index = bisect.bisect_left(DURATION_BUCKETS, seconds)
        bound = _BOUNDS[index] if index < len(_BOUNDS) else INF
        self.buckets[f"{series}{SEPARATOR}{bound}"] += 1
        self.seconds[series] += seconds

    async def flush(self, client: aioredis.Redis) -> None:
        """Add the counts to Redis in one transaction; kept for the next flush if it fails."""
        taken = self.requests, self.buckets, self.seconds
        if not any(taken):
            return
        self.requests, self.buckets, self.seconds = Counter(), Counter(), defaultdict(float)
        requests, buckets, seconds = taken
        try:
            async with client.pipeline(transaction=True) as pipe:
                for name, counts in ((REQUESTS, requests), (DURATION_BUCKET_COUNTS, buckets)):
                    for field, count in counts.items():
                        pipe.hincrby(self.key(name), field, count)
                for field, total in seconds.items():
                    pipe.hincrbyfloat(self.key(DURATION_SUM), field, total)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self.requests.update(requests)
            self.buckets.update(buckets)
            for series, total in seconds.items():
                self.seconds[series] += total
            now = time.monotonic()
            if now - self._last_warning >= WARN_EVERY_S:
                self._last_warning = now
                logger.warning("HTTP metrics wait in memory: Redis is unreachable (%s)", exc)

    async def flush_every(
        self, client: aioredis.Redis, stop: asyncio.Event, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        """Flush every `interval_s` until `stop` is set, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
            await self.flush(client)


def _decoded(reply: Mapping[bytes, bytes]) -> dict[str, float]:
    return {field.decode(): float(value) for field, value in reply.items()}


def families(
    requests: Mapping[str, float], buckets: Mapping[str, float], seconds: Mapping[str, float]
) -> list[Metric]:
    counter = CounterMetricFamily(
        "vigil_http_requests",
        "HTTP requests answered, by method, route template and status.",
        labels=["method", "route", "status"],
    )
    for field, count in sorted(requests.items()):
        method, rest = field.split(SEPARATOR, 1)
        route, status = rest.rsplit(SEPARATOR, 1)
        counter.add_metric([method, route, status], count)
    histogram = HistogramMetricFamily(
        "vigil_http_request_duration_seconds",
        "Time from a request's arrival to the end of its response (whole stream for SSE).",
        labels=["method", "route"],
    )
    by_series: dict[str, dict[str, float]] = {}
    for field, count in buckets.items():
        series, bound = field.rsplit(SEPARATOR, 1)
        by_series.setdefault(series, {})[bound] = count
    for series, by_bound in sorted(by_series.items()):
        cumulative, points = 0.0, []
        for bound in _BOUNDS:
            cumulative += by_bound.get(bound, 0.0)
            points.append((bound, cumulative))
        points.append((INF, sum(by_bound.values())))
        histogram.add_metric(series.split(SEPARATOR, 1), points, seconds.get(series, 0.0))
    return [counter, histogram]


class HttpCollector(Collector):
    """Reads the hashes at each scrape (blocking: the registry renders in a thread)."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.keys = [
            f"{prefix}:{name}" for name in (REQUESTS, DURATION_BUCKET_COUNTS, DURATION_SUM)
        ]

    def describe(self) -> Iterable[Metric]:
        # Lets the registry check names without a Redis round trip.
        return families({}, {}, {})

    def collect(self) -> Iterable[Metric]:
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key in self.keys:
                    pipe.hgetall(key)
                requests, buckets, seconds = pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("cannot read the HTTP metrics from Redis; exporting without them")
            return []
        return families(_decoded(requests), _decoded(buckets), _decoded(seconds))
