"""The live-view API's routes at their own paths and in their own shapes (compatible with the AI
video streaming backend's routes: `/api/offer`, `/api/sessions`, `/api/session/{id}`, `/info`,
`/health`), so that its clients work unchanged. They run the same services as
`/api/v1/webrtc/*` and, but for `/info` and `/health`, take the same authentication. One thing
is refused on purpose: a `video_path`, which would let a client make the server read a file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from api.cameras.dependencies import owned_camera
from api.compat import COMPATIBILITY_TAG
from api.deps import CallingKey, CurrentUser, RedisClient, WriteUser
from api.openapi import exempt
from api.webrtc import service, signaling
from api.webrtc.dependencies import OwnedSession
from api.webrtc.router import NOT_YOURS, OFFER_ERRORS
from api.webrtc.schemas import (
    AnswerRead,
    CompatClosed,
    CompatOffer,
    CompatSession,
    CompatSessions,
    Info,
    InfoApplication,
    InfoVideo,
    InfoWebrtc,
    LiveHealth,
)
from shared.db.models import Camera, User
from shared.errors import UnprocessableError
from shared.live.ice import public_urls
from shared.repositories import cameras as repo
from shared.settings import get_settings

router = APIRouter(tags=[COMPATIBILITY_TAG])

COMPAT_OFFER_ERRORS = {
    **OFFER_ERRORS,
    422: {
        "description": "a `video_path` was sent, `camera_id` was left out while you have no or "
        "several cameras, or the offer is refused (`invalid_offer`); `fields` names the problem"
    },
}


async def _camera(user: User, camera_id: str | None) -> Camera:
    if camera_id is not None:
        return await owned_camera(camera_id, user)
    cameras = await repo.list_for(user.id, False)
    if len(cameras) != 1:
        message = f"required: you have {len(cameras)} cameras, so say which to watch"
        raise service.invalid_field("camera_id", message, UnprocessableError)
    return cameras[0]


@router.post(
    "/api/offer", summary="Watch a camera (compatibility route)", responses=COMPAT_OFFER_ERRORS
)
async def offer(
    body: Annotated[CompatOffer, Body()], user: WriteUser, key: CallingKey, redis: RedisClient
) -> AnswerRead:
    """`POST /api/v1/webrtc/offer` in the live-view API's shape: `camera_id` may be left out
    when you have exactly one camera, and `video_path` must be null (Vigil streams cameras,
    never a file a client names)."""
    if body.video_path is not None:
        raise service.invalid_field(
            "video_path",
            "must be null: Vigil streams cameras, never a file named by the client",
            UnprocessableError,
        )
    camera = await _camera(user, body.camera_id)
    key_id = key.id if key is not None else None
    return await service.open_session(redis, user, camera, body.sdp, body.type, key_id)


@router.get("/api/sessions", summary="List your live view sessions (compatibility route)")
async def sessions(user: CurrentUser, redis: RedisClient) -> CompatSessions:
    """The ids of your open sessions."""
    ids = [record.session_id for record in await service.sessions_of(redis, user)]
    return CompatSessions(active_sessions=ids, count=len(ids))


@router.get(
    "/api/session/{session_id}",
    summary="A live view session's states (compatibility route)",
    responses=NOT_YOURS,
)
async def session(found: OwnedSession) -> CompatSession:
    return CompatSession(
        session_id=found.session_id,
        connection_state=found.connection_state,
        ice_connection_state=found.ice_connection_state,
        ice_gathering_state=found.ice_gathering_state,
        signaling_state=found.signaling_state,
    )


@router.delete(
    "/api/session/{session_id}",
    summary="Close a live view session (compatibility route)",
    responses=NOT_YOURS,
)
async def close(user: WriteUser, found: OwnedSession, redis: RedisClient) -> CompatClosed:
    """Closes the session as `DELETE /api/v1/webrtc/sessions/{session_id}` does, and says how
    many of yours are still open."""
    await service.close_session(redis, found)
    return CompatClosed(
        status="success",
        message=f"Session {found.session_id} closed",
        active_connections=await service.active_count(redis, user),
    )


@router.get("/info", summary="What the live view serves (public)")
@exempt(503)
async def info(request: Request) -> Info:
    """The service, its live video defaults and the configured STUN and TURN servers' URLs.
    Public: it holds no credential and nothing about any user or camera."""
    settings = get_settings()
    return Info(
        application=InfoApplication(name=request.app.title, version=request.app.version),
        video=InfoVideo(
            source="cameras",
            target_fps=service.DEFAULT_LIVE_FPS,
            max_height=service.DEFAULT_LIVE_MAX_HEIGHT,
        ),
        webrtc=InfoWebrtc(
            stun_servers=public_urls(settings, turn=False),
            turn_servers=public_urls(settings, turn=True),
            codecs=service.CODECS,
            max_sessions_per_user=settings.webrtc_max_sessions_per_user,
            max_session_s=settings.webrtc_max_session_s,
        ),
        endpoints={
            "docs": "/docs",
            "offer": "/api/v1/webrtc/offer",
            "sessions": "/api/v1/webrtc/sessions",
            "config": "/api/v1/webrtc/config",
        },
    )


@router.get(
    "/health",
    response_model=LiveHealth,
    summary="Is the live view up (public)",
    responses={503: {"model": LiveHealth, "description": "no live view service is running"}},
)
async def health(request: Request, redis: RedisClient) -> JSONResponse:
    """`healthy` while a live view service is running, else `degraded` with 503. Public."""
    available = await signaling.live_available(redis)
    answer = LiveHealth(
        status="healthy" if available else "degraded",
        service="vigil",
        version=request.app.version,
        video_available=available,
    )
    return JSONResponse(answer.model_dump(), status_code=200 if available else 503)
