"""Health checks against the real stack: a flood of them (and of GET /models) no longer takes
the API down (F-01), liveness and readiness, and no internal detail in what anyone can read."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from shared.ops.localstack import LocalStack

HEALTH_FLOOD = 60
MODELS_FLOOD = 12


async def _flood_and_time_me(
    base_url: str, auth: dict[str, str]
) -> tuple[list[httpx.Response], list[httpx.Response], float]:
    limits = httpx.Limits(max_connections=HEALTH_FLOOD + MODELS_FLOOD + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        health = [asyncio.create_task(client.get("/health")) for _ in range(HEALTH_FLOOD)]
        models = [
            asyncio.create_task(client.get("/models", headers=auth)) for _ in range(MODELS_FLOOD)
        ]
        await asyncio.sleep(0.05)  # the flood is in flight
        started = time.perf_counter()
        me = await client.get("/me", headers=auth)
        me_s = time.perf_counter() - started
        assert me.status_code == 200, me.text
        return await asyncio.gather(*health), await asyncio.gather(*models), me_s


def test_a_flood_of_health_and_model_checks_leaves_the_api_answering(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-01: 60 concurrent unauthenticated /health calls (and 12 authenticated /models) used to
    deadlock kombu's connection pool and fill the thread pool: /me then hung until restart."""
    started = time.perf_counter()
    health, models, me_during_s = asyncio.run(_flood_and_time_me(f"{stack.base_url}/api/v1", auth))
    flood_s = time.perf_counter() - started
    print(f"flood answered in {flood_s:.2f} s; GET /me during it took {me_during_s:.3f} s")
    assert me_during_s < 2
    assert {r.status_code for r in health} == {200}
    assert {r.status_code for r in models} == {200}
    assert all(r.json()["workers_answering"] == 1 for r in models)
    # One probe answered them all (at most two, should a refresh fall due mid-flood): each
    # report carries the latencies its own probe measured.
    assert len({json.dumps(r.json()["checks"], sort_keys=True) for r in health}) <= 2

    started = time.perf_counter()
    assert client.get("/me", headers=auth, timeout=5).status_code == 200
    assert time.perf_counter() - started < 2
    assert client.get("/health", timeout=5).status_code == 200


def test_liveness_and_readiness(client: httpx.Client) -> None:
    live = client.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "alive"}

    ready = client.get("/health/ready")
    assert ready.status_code == 200
    body: dict[str, Any] = ready.json()
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "threads": "ok",
    }


def test_health_reports_ok_or_down_and_never_why(client: httpx.Client) -> None:
    """F-21: the report is public, so it holds statuses, latencies and a worker count; no
    worker host names, addresses or exception text."""
    body = client.get("/health").json()
    assert body["status"] == "ok"
    workers = body["checks"]["workers"]
    assert workers["answering"] == 1
    assert set(workers) == {"status", "latency_ms", "answering"}
    assert "@" not in json.dumps(body)
