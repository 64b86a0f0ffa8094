"""Compatibility routes of the camera-analytics API: its paths (`/api/cameras`, `/api/health`)
and shapes, so that its clients work unchanged. They take the same authentication as
`/api/v1` (machine clients use API keys) and run the same services as `/api/v1/cameras`:
the same validation, ownership, caps and error shape."""

from __future__ import annotations

from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Body, Query, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.cameras import service
from api.cameras.dependencies import OwnedCamera
from api.cameras.schemas import (
    CameraRead,
    CamerasPayload,
    CompatHealth,
    CompatRejected,
    CompatStopped,
)
from api.compat import COMPATIBILITY_TAG
from api.deps import CurrentUser, RedisClient, WriteUser
from api.health.service import current_report
from api.webrtc import service as webrtc
from shared.db.models import Camera
from shared.errors import AppError
from shared.repositories import cameras as repo

router = APIRouter(prefix="/api", tags=[COMPATIBILITY_TAG])


@router.post(
    "/cameras",
    status_code=status.HTTP_201_CREATED,
    response_model=list[CameraRead],
    summary="Register cameras (compatibility route)",
    responses={
        201: {"description": "every camera sent was created"},
        207: {
            "model": list[CameraRead | CompatRejected],
            "description": "some cameras were created; each refused one is an item with an "
            "`error` in its place",
        },
        409: {"description": "no camera was created: each was a conflict (taken, or the cap)"},
        422: {"description": "no camera was created: `cameras` says why for each"},
    },
)
async def register_cameras(
    body: Annotated[CamerasPayload, Body()], user: WriteUser, redis: RedisClient
) -> Any:
    """The camera-analytics API's registration: its list payload (or one camera object) in,
    a JSON array of the cameras out, in the order sent, as `POST /api/v1/cameras` creates
    them. A refused camera appears in the array as `{index, camera_id, error}` and the others
    are still created: 201 when all were, 207 when some were refused, and an error (with every
    camera's reason under `cameras`) when none was created."""
    items = [body] if isinstance(body, dict) else body
    outcomes = await service.register(user, redis, items)
    answered = jsonable_encoder(service.compat_items(items, outcomes))
    created = sum(isinstance(outcome, Camera) for outcome in outcomes)
    if not created:
        if isinstance(body, dict) and isinstance(outcomes[0], AppError):
            raise outcomes[0]
        raise service.nothing_created(outcomes, answered)
    code = status.HTTP_201_CREATED if created == len(items) else status.HTTP_207_MULTI_STATUS
    return JSONResponse(answered, status_code=code)


@router.get("/cameras", summary="List cameras (compatibility route)")
async def list_cameras(
    user: CurrentUser,
    all_: Annotated[
        bool, Query(alias="all", description="include inactive cameras (after the active ones)")
    ] = False,
) -> list[CameraRead]:
    """Your active cameras (the camera-analytics API lists those), or all of them."""
    return [service.read(camera) for camera in await repo.list_for(user.id, not all_)]


@router.delete("/cameras/{camera_id}", summary="Stop a camera (compatibility route)")
async def stop_camera(_: WriteUser, camera: OwnedCamera, redis: RedisClient) -> CompatStopped:
    """Stops the camera and deletes its registration, as `DELETE /api/v1/cameras/{camera_id}`
    does: the camera-analytics API's clients register a camera again to restart it."""
    await service.delete(camera, redis)
    return CompatStopped(status="stopped", camera_id=camera.camera_id)


@router.get(
    "/health",
    response_model=CompatHealth,
    summary="Health with your cameras (compatibility route)",
    responses={503: {"model": CompatHealth, "description": "a dependency is down or too slow"}},
)
async def health(user: CurrentUser, redis: RedisClient) -> JSONResponse:
    """`GET /api/v1/health`'s checks and runners, with your cameras: how many are active and
    how many analyse frames now. 503 under the same conditions."""
    report = await current_report(redis)
    active, online = await repo.owner_counts(user.id)
    try:
        sessions: int | None = await webrtc.active_count(redis, user)
    except (aioredis.RedisError, OSError):
        sessions = None
    checks = {name: getattr(report, name).public() for name in ("database", "redis", "workers")}
    return JSONResponse(
        {
            "status": "ok" if report.healthy else "degraded",
            "service": "vigil",
            "active_connections": sessions,
            "cameras": {"active": active, "online": online},
            "runners": report.runners_public(),
            "checks": checks,
        },
        status_code=200 if report.healthy else 503,
    )
