"""`/api/v1/webrtc/*`: watch a camera live over WebRTC. The browser posts its offer (one
recvonly video section, every candidate in it), gets the live service's answer, and the
camera's annotated frames flow straight from the live service to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.cameras.dependencies import owned_camera
from api.deps import CallingKey, CurrentUser, RedisClient, WriteUser
from api.webrtc import service
from api.webrtc.dependencies import OwnedSession
from api.webrtc.schemas import AnswerRead, OfferCreate, SessionList, SessionRead, WebrtcConfig
from shared.settings import get_settings

router = APIRouter(prefix="/webrtc", tags=["live view"])

Responses = dict[int | str, dict[str, Any]]
OFFER_ERRORS: Responses = {
    404: {"description": "no such camera of yours"},
    409: {"description": "the camera is inactive (`camera_inactive`)"},
    422: {
        "description": "the offer is refused (`invalid_offer`): over 64 KB, not exactly one "
        "media section, not video, not a=recvonly, more than 20 ICE candidates or one at a "
        "link-local, multicast, unspecified or non-mDNS host name address, or not usable by the "
        "live service; `fields` names the problem"
    },
    429: {
        "description": "you have VIGIL_WEBRTC_MAX_SESSIONS_PER_USER sessions open "
        "(`too_many_sessions`); close one, or retry after Retry-After"
    },
    503: {
        "description": "no live view service is running or none answered in time "
        "(`live_unavailable`), or all VIGIL_WEBRTC_MAX_SESSIONS are in use (`live_full`); "
        "retry after Retry-After"
    },
}
NOT_YOURS: Responses = {404: {"description": "no such live view session of yours"}}


@router.post("/offer", responses=OFFER_ERRORS)
async def create_offer(
    body: OfferCreate, user: WriteUser, key: CallingKey, redis: RedisClient
) -> AnswerRead:
    """Start watching a camera: send the browser's offer, get the answer to set as the remote
    description. ICE is not trickled: wait for the browser's gathering to complete before
    sending. The session ends with DELETE, when the connection fails or the browser stops
    answering for about 10 s, when it has not connected within 30 s, after
    VIGIL_WEBRTC_MAX_SESSION_S, and when the credentials it was opened with stop working (sign
    out everywhere, password change, API key revoked). While the camera sends no picture, the
    video shows "offline since …" once a second."""
    camera = await owned_camera(body.camera_id, user)
    key_id = key.id if key is not None else None
    return await service.open_session(redis, user, camera, body.sdp, body.type, key_id)


@router.get("/sessions")
async def list_sessions(user: CurrentUser, redis: RedisClient) -> SessionList:
    """Your open live view sessions, oldest first, from any API process."""
    items = [service.read(record) for record in await service.sessions_of(redis, user)]
    return SessionList(items=items, count=len(items))


@router.get("/sessions/{session_id}", responses=NOT_YOURS)
async def get_session(session: OwnedSession) -> SessionRead:
    """A session's connection, ICE and signaling states and the frames it has sent."""
    return service.read(session)


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS
)
async def delete_session(_: WriteUser, session: OwnedSession, redis: RedisClient) -> Response:
    """Close the session: the live service closes the peer at once, wherever it runs."""
    await service.close_session(redis, session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Fields a server leaves unset (a STUN entry's username and credential) are left out, not null:
# the console hands the list straight to RTCPeerConnection.
@router.get("/config", response_model_exclude_none=True)
async def config(user: CurrentUser) -> WebrtcConfig:
    """What a browser needs for its RTCPeerConnection: the ICE servers (TURN with credentials
    made for you, valid for VIGIL_WEBRTC_TURN_TTL_S), the limits and the codecs."""
    return service.client_config(get_settings(), user)
