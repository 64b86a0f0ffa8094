from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RedisClient
from api.health.service import check_database, check_redis, check_workers

router = APIRouter(tags=["operations"])


@router.get("/health", responses={503: {"description": "a dependency is down"}})
async def health(redis: RedisClient) -> Any:
    database, redis_status, workers = await asyncio.gather(
        check_database(), check_redis(redis), check_workers()
    )
    checks = {"database": database, "redis": redis_status, "workers": workers}
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
