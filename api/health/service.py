"""Is each dependency up? Postgres, Redis, the API's own thread pool and the workers; and
which camera runners are alive.

One probe looks at all of them at once, each within VIGIL_HEALTH_TIMEOUT_S, and its report is
reused for VIGIL_HEALTH_CACHE_S by every caller (api/health/shared_result.py): a flood of health
checks costs the dependencies two queries, one PING and one worker broadcast per period. The
report says only "ok", "down" or "timeout" per check; why a check failed goes to the log, since
the callers are anonymous and the reason names internal hosts. Camera runners are optional
(cameras wait for one), so they are counted, never checked: none alive is not a failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, Literal

import anyio
import redis.asyncio as aioredis
from tortoise import connections
from tortoise.timezone import now as utcnow

from api.health.shared_result import SharedResult
from shared.enqueue import broadcast
from shared.repositories import cameras as cameras_repo
from shared.repositories.cameras import RunnerSummary
from shared.settings import get_settings

logger = logging.getLogger(__name__)

Status = Literal["ok", "down", "timeout"]
# How long a broadcast collects replies, at most: workers answer a ping within milliseconds.
REPLY_WINDOW_S = 1.0
# Worker broadcasts are blocking calls: they get one thread of their own, outside the pool the
# endpoints share, so a broker that hangs costs one thread however often health is asked.
_BROADCAST_THREADS = anyio.CapacityLimiter(1)
# A runner renews its heartbeat every VIGIL_CAMERA_RENEW_INTERVAL_S; one that missed this many
# renewals in a row is taken for dead.
RUNNER_MISSED_RENEWALS = 3


@dataclass(frozen=True)
class Check:
    status: Status
    latency_ms: float | None = None
    answering: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def public(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"status": self.status}
        if self.latency_ms is not None:
            shown["latency_ms"] = self.latency_ms
        if self.answering is not None:
            shown["answering"] = self.answering
        return shown


@dataclass(frozen=True)
class Report:
    database: Check
    redis: Check
    threads: Check
    workers: Check
    # None when the database did not say.
    runners: RunnerSummary | None

    def runners_public(self) -> dict[str, int] | None:
        return asdict(self.runners) if self.runners is not None else None

    @property
    def healthy(self) -> bool:
        """Every dependency answers, a worker included: what /health reports."""
        return all(check.ok for check in (self.database, self.redis, self.threads, self.workers))

    @property
    def ready(self) -> bool:
        """The API can answer requests: Postgres and Redis answer and the thread pool runs."""
        return self.database.ok and self.redis.ok and self.threads.ok


async def _timed(name: str, check: Callable[[], Awaitable[int | None]], timeout_s: float) -> Check:
    started = time.perf_counter()
    try:
        with anyio.fail_after(timeout_s):
            answering = await check()
    except TimeoutError:
        logger.warning("health check %s: no answer within %.1f s", name, timeout_s)
        return Check("timeout")
    except Exception:  # any failure of a dependency is a finding, not an error
        logger.warning("health check %s failed", name, exc_info=True)
        return Check("down")
    return Check("ok", round((time.perf_counter() - started) * 1000, 1), answering)


async def _database() -> None:
    await connections.get("default").execute_query("SELECT 1")


def _nothing() -> None:
    """Runs in the thread pool: it answers only while the pool has a free thread."""


async def _threads() -> None:
    await anyio.to_thread.run_sync(_nothing, abandon_on_cancel=True)


async def _workers(reply_window_s: float) -> int:
    replies = await anyio.to_thread.run_sync(
        broadcast, "ping", reply_window_s, limiter=_BROADCAST_THREADS, abandon_on_cancel=True
    )
    if not replies:
        raise RuntimeError(f"no worker answered a ping within {reply_window_s} s")
    return len(replies)


async def _runners(timeout_s: float) -> RunnerSummary | None:
    renew_s = get_settings().camera_renew_interval_s
    alive_since = utcnow() - timedelta(seconds=RUNNER_MISSED_RENEWALS * renew_s)
    try:
        with anyio.fail_after(timeout_s):
            return await cameras_repo.runner_summary(alive_since)
    except Exception:  # the database check reports the failure; the count is just unknown
        logger.warning("counting the camera runners failed", exc_info=True)
        return None


async def probe(redis: aioredis.Redis) -> Report:
    timeout_s = get_settings().health_timeout_s
    reply_window_s = min(REPLY_WINDOW_S, timeout_s / 2)

    async def ping_redis() -> None:
        await redis.ping()

    database, redis_check, threads, workers, runners = await asyncio.gather(
        _timed("database", _database, timeout_s),
        _timed("redis", ping_redis, timeout_s),
        _timed("threads", _threads, timeout_s),
        _timed("workers", lambda: _workers(reply_window_s), timeout_s),
        _runners(timeout_s),
    )
    return Report(database, redis_check, threads, workers, runners)


_latest: SharedResult[Report] = SharedResult()


async def current_report(redis: aioredis.Redis) -> Report:
    """The latest report, at most VIGIL_HEALTH_CACHE_S old; a caller waits for a new one at
    most about VIGIL_HEALTH_TIMEOUT_S, shared with every other caller."""
    return await _latest.get(lambda: probe(redis), get_settings().health_cache_s)
