from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from annotated_types import Len
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    model_validator,
)

from api.health.schemas import HealthChecks, RunnersRead
from api.openapi import FieldProblem
from api.text import NoNul, ShortText
from shared.cameras.params import CameraParams
from shared.cameras.source import MAX_URL_LENGTH
from shared.db.enums import CameraDesiredState, CameraState
from shared.db.models import Camera

CAMERA_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# Every item of a list is resolved and checked on its own: a bound keeps one request short.
MAX_CAMERAS_PER_REQUEST = 100

CameraId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=CAMERA_ID_PATTERN),
]
StreamUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    NoNul,
]

STREAM_URL_DESCRIPTION = (
    "`rtsp://` or `rtsps://` (credentials as `user:password@` are split out, stored encrypted "
    "and never shown again), or `file://` for a video under VIGIL_CAMERA_FILE_ROOT. A new URL "
    "replaces the stored credentials: with none in it, the camera has none"
)
STATUS_DESCRIPTION = "`active` analyses the stream; `inactive` only keeps the registration"


class CameraConfig(BaseModel):
    """What a camera is told to do: the body of PUT, and of POST with a `camera_id`."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    status: CameraDesiredState = Field(
        default=CameraDesiredState.ACTIVE, description=STATUS_DESCRIPTION
    )
    stream_url: StreamUrl = Field(
        description=STREAM_URL_DESCRIPTION,
        examples=["rtsp://user:password@192.168.1.20:554/stream1"],
    )
    parameters: CameraParams = Field(
        default_factory=CameraParams,
        description="what to analyse and how; the camera-analytics API's names as they are",
    )


class CameraCreate(CameraConfig):
    camera_id: CameraId = Field(
        description="your id for the camera: 1-64 of A-Z a-z 0-9 . _ : -, unique among yours",
        examples=["7e793c44-5960-4d40-903f-9c2cf0a17903", "gate-north"],
    )


class CameraReplace(CameraConfig):
    camera_id: CameraId | None = Field(
        default=None, description="may be given, but must be the camera's own"
    )


class CameraUpdate(BaseModel):
    """Only the fields sent change; `name: null` clears it. `parameters` replaces the stored
    parameters as a whole."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    status: CameraDesiredState | None = Field(default=None, description=STATUS_DESCRIPTION)
    stream_url: StreamUrl | None = Field(default=None, description=STREAM_URL_DESCRIPTION)
    parameters: CameraParams | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> CameraUpdate:
        for name in ("status", "stream_url", "parameters"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def _object_or_list(value: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """The request's shape only; each camera object is validated on its own, so that in a
    list a bad one is refused alone."""
    if isinstance(value, dict):
        return value
    if (
        isinstance(value, list)
        and 1 <= len(value) <= MAX_CAMERAS_PER_REQUEST
        and all(isinstance(item, dict) for item in value)
    ):
        return value
    raise ValueError(
        f"must be a camera object or a list of 1 to {MAX_CAMERAS_PER_REQUEST} camera objects"
    )


def _object(value: Any) -> dict[str, Any]:
    """The request's shape only: the camera's fields are validated with the server's plate
    regions (api/cameras/validation.py), which a body model cannot be given."""
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


ReplacePayload = Annotated[Any, PlainValidator(_object, json_schema_input_type=CameraReplace)]
UpdatePayload = Annotated[Any, PlainValidator(_object, json_schema_input_type=CameraUpdate)]

# POST bodies: one camera, or a list of them (the camera-analytics API's payload).
CamerasPayload = Annotated[
    Any,
    PlainValidator(
        _object_or_list,
        json_schema_input_type=CameraCreate
        | Annotated[list[CameraCreate], Len(1, MAX_CAMERAS_PER_REQUEST)],
    ),
]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _resolution(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{_count(value[0])}x{_count(value[1])}"
    return None


class CameraRuntime(BaseModel):
    """What the camera's runner last reported; figures not reported yet are null (or 0)."""

    state: CameraState
    since: datetime = Field(description="when it entered this state")
    runner: str | None = Field(description="the runner holding the camera")
    generation: int = Field(
        description="bumped whenever a runner takes the camera or its configuration changes; "
        "events carry it"
    )
    last_frame_at: datetime | None
    fps_in: float | None = Field(description="frames per second the source delivers")
    fps_analysed: float | None = Field(description="frames per second analysed")
    fps_target: float | None = Field(description="frames per second the analysis aims at")
    resolution: str | None = Field(description="WIDTHxHEIGHT of the source")
    codec: str | None
    reconnects_last_hour: int
    stalls_last_hour: int
    last_error: str | None = Field(description="why the stream last failed (no credentials)")
    events_published: int
    events_dropped: int = Field(description="events lost while the event stream was unreachable")

    @classmethod
    def from_model(cls, camera: Camera) -> CameraRuntime:
        figures = camera.runtime if isinstance(camera.runtime, dict) else {}
        error = camera.last_error or figures.get("last_error")
        return cls(
            state=camera.state,
            since=camera.state_since,
            runner=camera.runner_id,
            generation=camera.generation,
            last_frame_at=camera.last_frame_at,
            fps_in=_number(figures.get("fps_in")),
            fps_analysed=_number(figures.get("fps_analysed")),
            fps_target=_number(figures.get("fps_target")),
            resolution=_resolution(figures.get("resolution")),
            codec=figures.get("codec") if isinstance(figures.get("codec"), str) else None,
            reconnects_last_hour=_count(figures.get("reconnects_last_hour")),
            stalls_last_hour=_count(figures.get("stalls_last_hour")),
            last_error=error if isinstance(error, str) else None,
            events_published=_count(figures.get("events_published")),
            events_dropped=_count(figures.get("events_dropped")),
        )


def shown_url(camera: Camera) -> str:
    """The stored URL (never with credentials), marked when the camera has some."""
    if camera.credentials_enc is None:
        return camera.stream_url
    scheme, rest = camera.stream_url.split("://", 1)
    return f"{scheme}://***@{rest}"


class CameraRead(BaseModel):
    camera_id: str
    camera_uuid: UUID = Field(description="the camera's global id, as events carry it")
    name: str | None
    status: CameraDesiredState = Field(description=STATUS_DESCRIPTION)
    stream_url: str = Field(
        description="the source without its credentials: `rtsp://***@host:port/path` when it "
        "has some"
    )
    has_credentials: bool
    parameters: dict[str, Any] = Field(description="the parameters as given (validated)")
    warnings: list[str] = Field(
        description="asks that will not be met as made, e.g. an analysis rate over "
        "VIGIL_CAMERA_MAX_DETECT_FPS"
    )
    created_at: datetime
    updated_at: datetime
    runtime: CameraRuntime

    @classmethod
    def from_model(cls, camera: Camera, max_detect_fps: float) -> CameraRead:
        return cls(
            camera_id=camera.camera_id,
            camera_uuid=camera.id,
            name=camera.name,
            status=camera.desired_state,
            stream_url=shown_url(camera),
            has_credentials=camera.credentials_enc is not None,
            parameters=camera.params,
            warnings=CameraParams.stored_warnings(camera.params, max_detect_fps),
            created_at=camera.created_at,
            updated_at=camera.updated_at,
            runtime=CameraRuntime.from_model(camera),
        )


class CameraList(BaseModel):
    items: list[CameraRead]
    total: int
    page: int
    page_size: int


class CameraAccepted(CameraRead):
    index: int = Field(description="position of the camera in the list, from 0")


class CameraRejected(BaseModel):
    index: int = Field(description="position of the camera in the list, from 0")
    camera_id: str | None = Field(description="the camera_id sent, when it was a string")
    status_code: int = Field(description="what a request with this camera alone would answer")
    error: str = Field(description="validation_error, unprocessable or conflict")
    detail: str
    fields: list[FieldProblem] | None = None


class CameraBatch(BaseModel):
    accepted: int
    rejected: int
    cameras: list[CameraAccepted | CameraRejected] = Field(description="one item per camera sent")


# --- the camera-analytics API's routes ---------------------------------------------------------


class ItemError(BaseModel):
    status_code: int = Field(description="what a request with this camera alone would answer")
    error: str
    detail: str
    fields: list[FieldProblem] | None = None


class CompatRejected(BaseModel):
    index: int = Field(description="position of the camera in the list, from 0")
    camera_id: str | None = Field(description="the camera_id sent, when it was a string")
    error: ItemError


class CompatStopped(BaseModel):
    status: Literal["stopped"]
    camera_id: str


class CompatCameraCounts(BaseModel):
    active: int = Field(description="your cameras with status active")
    online: int = Field(description="your cameras analysing now (online or degraded)")


class CompatHealth(BaseModel):
    """The service's health (as `GET /api/v1/health`) with the caller's cameras: the health
    answer of the camera-analytics API and of the live-view API in one shape."""

    status: Literal["ok", "degraded"]
    service: Literal["vigil"]
    active_connections: int | None = Field(
        description="your live view (WebRTC) sessions open now; null when Redis does not answer"
    )
    cameras: CompatCameraCounts
    runners: RunnersRead | None = Field(description="null when the database does not answer")
    checks: HealthChecks
