from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.cameras.schemas import CameraId
from shared.live.sdp import MAX_SDP_BYTES

SDP_DESCRIPTION = (
    f"the browser's offer, every candidate in it (no trickle ICE): at most {MAX_SDP_BYTES} "
    "bytes, exactly one media section, a video one marked a=recvonly"
)
ConnectionState = str


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(max_length=MAX_SDP_BYTES, description=SDP_DESCRIPTION)
    type: Literal["offer"] = Field(description="always `offer`")
    camera_id: CameraId = Field(description="the camera to watch, one of yours")


class AnswerRead(BaseModel):
    sdp: str = Field(description="the answer, with the live service's candidates")
    type: Literal["answer"] = "answer"
    session_id: str = Field(description="for GET and DELETE /webrtc/sessions/{session_id}")


class SessionRead(BaseModel):
    session_id: str
    camera_id: str
    created_at: datetime
    connection_state: ConnectionState = Field(
        description="the peer connection's: new, connecting, connected, failed or closed"
    )
    ice_connection_state: ConnectionState
    ice_gathering_state: ConnectionState
    signaling_state: ConnectionState
    frames_sent: int = Field(description="frames sent so far (refreshed every few seconds)")


class SessionList(BaseModel):
    items: list[SessionRead]
    count: int


class IceServerRead(BaseModel):
    urls: list[str]
    username: str | None = Field(
        default=None, description="for TURN: ephemeral, valid until the Unix time it starts with"
    )
    credential: str | None = None


class WebrtcConfig(BaseModel):
    ice_servers: list[IceServerRead] = Field(
        description="for the browser's RTCPeerConnection; empty unless the server configures "
        "STUN or TURN (a browser on the server's network needs none)"
    )
    max_sessions_per_user: int
    max_session_s: int = Field(description="sessions are closed after this many seconds")
    codecs: list[str] = Field(description="video codecs the live service sends")


# The live-view API's routes (compatible with the AI video streaming backend's).


class CompatOffer(BaseModel):
    sdp: str = Field(max_length=MAX_SDP_BYTES, description=SDP_DESCRIPTION)
    type: Literal["offer"] = Field(description="always `offer`")
    video_path: str | None = Field(
        default=None,
        description="must be null: Vigil streams cameras, never a file named by the client",
    )
    camera_id: CameraId | None = Field(
        default=None, description="the camera to watch; may be left out when you have only one"
    )


class CompatSessions(BaseModel):
    active_sessions: list[str]
    count: int


class CompatSession(BaseModel):
    session_id: str
    connection_state: ConnectionState
    ice_connection_state: ConnectionState
    ice_gathering_state: ConnectionState
    signaling_state: ConnectionState


class CompatClosed(BaseModel):
    status: Literal["success"]
    message: str
    active_connections: int = Field(description="your live view sessions still open")


class InfoApplication(BaseModel):
    name: str
    version: str


class InfoVideo(BaseModel):
    source: Literal["cameras"] = Field(
        description="Vigil streams its cameras' annotated frames, never files"
    )
    target_fps: float = Field(description="a camera's `live_fps` unless it sets another")
    max_height: int = Field(description="a camera's `live_max_height` unless it sets another")


class InfoWebrtc(BaseModel):
    stun_servers: list[str] = Field(description="the configured STUN servers' URLs")
    turn_servers: list[str] = Field(
        description="the configured TURN servers' URLs; credentials come from "
        "GET /api/v1/webrtc/config"
    )
    codecs: list[str]
    max_sessions_per_user: int
    max_session_s: int


class Info(BaseModel):
    application: InfoApplication
    video: InfoVideo
    webrtc: InfoWebrtc
    endpoints: dict[str, str]


class LiveHealth(BaseModel):
    status: Literal["healthy", "degraded"] = Field(
        description="`degraded` while no live view service is running"
    )
    service: Literal["vigil"]
    version: str
    video_available: bool = Field(description="a live view service is running")
