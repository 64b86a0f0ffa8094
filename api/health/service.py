"""Is each dependency up? Database, Redis, and at least one worker answering a ping."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from starlette.concurrency import run_in_threadpool
from tortoise import connections

from shared.enqueue import celery_client

PING_TIMEOUT_S = 1.0


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        extra = await check()
    except Exception as exc:  # any failure of a dependency is a finding, not an error
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)} | (
        extra or {}
    )


async def check_database() -> dict[str, Any]:
    async def query() -> None:
        await connections.get("default").execute_query("SELECT 1")

    return await _timed(query)


async def check_redis(redis: aioredis.Redis) -> dict[str, Any]:
    async def ping() -> None:
        await redis.ping()

    return await _timed(ping)


def ping_workers() -> list[str]:
    replies = celery_client().control.ping(timeout=PING_TIMEOUT_S) or []
    return sorted(name for reply in replies for name in reply)


async def check_workers() -> dict[str, Any]:
    async def ping() -> dict[str, Any]:
        workers = await run_in_threadpool(ping_workers)
        if not workers:
            raise RuntimeError(f"no worker answered within {PING_TIMEOUT_S}s")
        return {"workers": workers}

    return await _timed(ping)
