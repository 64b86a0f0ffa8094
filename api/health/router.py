"""Health: `/health` (every dependency, workers included), `/health/ready` (can this process
answer requests now?) and `/health/live` (is its event loop running?)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RedisClient
from api.health.schemas import HealthRead, LivenessRead, ReadinessRead
from api.health.service import current_report
from api.openapi import exempt

router = APIRouter(prefix="/health", tags=["operations"])


def _down(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """503 answers with the same report as 200, naming what is down."""
    return {503: {"model": model, "description": "a dependency is down or too slow"}}


@router.get("", response_model=HealthRead, responses=_down(HealthRead))
async def health(redis: RedisClient) -> JSONResponse:
    report = await current_report(redis)
    checks = {name: getattr(report, name).public() for name in ("database", "redis", "workers")}
    return JSONResponse(
        {
            "status": "ok" if report.healthy else "degraded",
            "checks": checks,
            "runners": report.runners_public(),
        },
        status_code=200 if report.healthy else 503,
    )


@router.get("/ready", response_model=ReadinessRead, responses=_down(ReadinessRead))
async def ready(redis: RedisClient) -> JSONResponse:
    """200 while Postgres and Redis answer and the thread pool runs; a worker is not needed to
    accept requests (jobs wait in the queue)."""
    report = await current_report(redis)
    checks = {name: getattr(report, name).public() for name in ("database", "redis", "threads")}
    return JSONResponse(
        {"status": "ready" if report.ready else "not_ready", "checks": checks},
        status_code=200 if report.ready else 503,
    )


@router.get("/live")
@exempt(429, 503)
async def live() -> LivenessRead:
    """200 whenever the process runs its event loop; it touches no dependency."""
    return LivenessRead(status="alive")
