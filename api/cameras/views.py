"""Watching a camera: its latest annotated frame (`snapshot.jpg`), an MJPEG stream of them, and
the signed view tokens that let an `<img>`, which cannot send headers, show either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api import ratelimit
from api.cameras import frames, mjpeg, view_tokens
from api.cameras.dependencies import OwnedCamera, owned_camera
from api.deps import (
    RedisClient,
    RequireScope,
    api_key_scheme,
    authenticated,
    current_user,
    oauth2_scheme,
    parse_uuid,
)
from api.jobs.events import MAX_STREAMS_PER_USER, StreamCredential, StreamSlot
from api.openapi import raises
from shared.contracts import API_PREFIX
from shared.db.enums import CameraDesiredState
from shared.db.models import Camera, User
from shared.errors import AuthenticationError, NotFoundError
from shared.repositories import cameras as repo
from shared.settings import get_settings

router = APIRouter(tags=["cameras"])

# Asking for a view token changes nothing and grants no more than the caller may do already
# (view the camera), so a read-only API key may ask: a dashboard with such a key can show
# cameras. `read` is named rather than left implicit, so the route still checks a scope.
ViewerUser = Annotated[User, Depends(RequireScope("read"))]
ViewToken = Annotated[
    str | None,
    Query(
        max_length=view_tokens.MAX_TOKEN_LENGTH,
        description="a view token from POST /cameras/{camera_id}/view-token, for clients that "
        "cannot send headers (an <img>); not needed with Authorization or X-API-Key",
    ),
]
Responses = dict[int | str, dict[str, Any]]
NOT_WATCHABLE: Responses = {
    404: {"description": "no such camera of yours"},
    409: {
        "description": "the camera is inactive (`camera_inactive`), or has sent no picture yet "
        "(`no_frame_yet`, see Retry-After)"
    },
    503: {
        "description": "the camera is reconnecting, offline or failing, or its picture has "
        "stopped being refreshed (`camera_unavailable`, see Retry-After)"
    },
}


class ViewTokenRead(BaseModel):
    token: str = Field(description="lets its bearer view this camera alone until expires_at")
    expires_at: datetime
    snapshot_url: str = Field(description="the snapshot, with the token: usable as an <img> src")
    mjpeg_url: str = Field(description="the MJPEG stream, with the token (5 fps)")


def _view_url(camera_id: str, view: str, token: str) -> str:
    return f"{API_PREFIX}/cameras/{quote(camera_id, safe='')}/{view}?token={token}"


async def _camera_of_token(
    request: Request, redis: RedisClient, camera_id: str, token: str
) -> Camera:
    claims = view_tokens.verify(token)
    request.state.user_id = str(claims.owner_id)
    request.state.auth_method = "view_token"
    request.state.api_key_id = str(claims.api_key_id) if claims.api_key_id else None
    request.state.token_version = claims.token_version
    await ratelimit.hit(redis, ratelimit.PER_USER, str(claims.owner_id))
    await view_tokens.check_maker(claims)
    camera = await repo.get_owned(claims.owner_id, camera_id)
    if camera is None:
        raise NotFoundError(f"camera {camera_id} not found")
    if camera.id != claims.camera_uuid:
        raise AuthenticationError(f"this view token is not for camera {camera_id}")
    return camera


@raises(401, 404)
async def viewed_camera(
    camera_id: str,
    request: Request,
    redis: RedisClient,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    token: ViewToken = None,
) -> Camera:
    """The camera, for the caller's own credentials, or else for a view token of it."""
    if token is not None and not (bearer or api_key):
        return await _camera_of_token(request, redis, camera_id, token)
    user = await current_user(await authenticated(request, bearer, api_key))
    return await owned_camera(camera_id, user)


ViewedCamera = Annotated[Camera, Depends(viewed_camera)]


@router.post("/cameras/{camera_id}/view-token", responses={404: NOT_WATCHABLE[404]})
async def create_view_token(
    user: ViewerUser, camera: OwnedCamera, request: Request
) -> ViewTokenRead:
    """A short-lived token (VIGIL_CAMERA_VIEW_TOKEN_TTL_S, 60 s by default) for this camera's
    snapshot and MJPEG stream, with ready-made URLs. It stops working early once your sign-in
    ends (password change, sign out everywhere) or the API key that asked is revoked; an MJPEG
    stream opened with it runs on until then, or until the camera is deleted."""
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(
        seconds=get_settings().camera_view_token_ttl_s
    )
    key_id: str | None = getattr(request.state, "api_key_id", None)
    token = view_tokens.issue(
        view_tokens.ViewClaims(
            camera_uuid=camera.id,
            owner_id=user.id,
            token_version=user.token_version,
            api_key_id=parse_uuid(key_id) if key_id else None,
            expires_at=expires_at,
        )
    )
    return ViewTokenRead(
        token=token,
        expires_at=expires_at,
        snapshot_url=_view_url(camera.camera_id, "snapshot.jpg", token),
        mjpeg_url=_view_url(camera.camera_id, "mjpeg", token),
    )


@router.get(
    "/cameras/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the latest annotated frame"},
        **NOT_WATCHABLE,
    },
)
async def snapshot(camera: ViewedCamera, redis: RedisClient) -> Response:
    """The camera's latest annotated frame (headers: X-Captured-At, X-Frame-Number). Asking
    counts as watching for a few seconds, so the runner annotates every frame meanwhile and a
    client polling every second or two gets current pictures."""
    await frames.Viewer(redis, camera.id).watch(frames.SNAPSHOT_VIEW_S)
    frame = frames.check_viewable(camera, await frames.latest(redis, camera.id))
    return Response(
        frame.jpeg, media_type="image/jpeg", headers=frame.headers | {"Cache-Control": "no-store"}
    )


@router.get(
    "/cameras/{camera_id}/mjpeg",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {mjpeg.MEDIA_TYPE.split(";")[0]: {}},
            "description": "annotated frames, each a multipart part, until you leave",
        },
        **NOT_WATCHABLE,
        429: {
            "description": f"you have {MAX_STREAMS_PER_USER} streams open already; see Retry-After"
        },
    },
)
async def mjpeg_stream(
    camera: ViewedCamera,
    redis: RedisClient,
    request: Request,
    fps: Annotated[
        float,
        Query(ge=mjpeg.MIN_FPS, le=mjpeg.MAX_FPS, description="frames per second at most"),
    ] = mjpeg.DEFAULT_FPS,
) -> StreamingResponse:
    """The camera's annotated frames as `multipart/x-mixed-replace`, for an `<img>`: the
    newest frame at most `fps` times a second. It ends when you leave, when the camera is
    deleted or made inactive, and when your sign-in ends; it counts toward your open streams."""
    first = frames.check_viewable(camera, await frames.latest(redis, camera.id))
    slot = StreamSlot(redis, camera.owner_id)
    await slot.acquire()
    viewer = frames.Viewer(redis, camera.id)
    await viewer.watch(frames.VIEWER_TTL_S)

    async def still_watchable() -> bool:
        current = await repo.get_owned(camera.owner_id, camera.camera_id)
        return (
            current is not None
            and current.id == camera.id
            and current.desired_state == CameraDesiredState.ACTIVE
        )

    stream = mjpeg.frames(
        redis, camera, first, fps, viewer, slot, StreamCredential.of(request), still_watchable
    )
    return StreamingResponse(
        stream, media_type=mjpeg.MEDIA_TYPE, headers={"X-Accel-Buffering": "no"}
    )
