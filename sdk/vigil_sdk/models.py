"""What the API answers, typed. Every model keeps fields it does not know (`extra="allow"`) and
most fields have defaults, so a newer server that adds fields never breaks an older SDK.
Statuses and kinds are plain strings for the same reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

TERMINAL_STATUSES = frozenset({"completed", "failed"})


class VigilModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(VigilModel, Generic[T]):
    items: list[T]
    total: int
    page: int = 1
    page_size: int = 0


class TokenPair(VigilModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0


class User(VigilModel):
    id: UUID
    email: str
    full_name: str | None = None
    is_active: bool = True
    created_at: datetime | None = None


class ApiKey(VigilModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by_key_id: UUID | None = None


class ApiKeyCreated(ApiKey):
    """The only time the key itself is shown: store it now."""

    key: str


class Submission(VigilModel):
    """What every upload answers: at least the job it was recorded under."""

    job_id: UUID


class JobAccepted(Submission):
    status: str
    status_url: str | None = None
    results_url: str | None = None


class Detection(VigilModel):
    label: str
    confidence: float
    bbox: list[float] = Field(default_factory=list, description="[x1, y1, x2, y2] in pixels")
    bbox_normalized: list[float] = Field(default_factory=list)
    type: str | None = None
    source: str | None = None
    detector: str | None = None
    track_id: int | None = None
    zones: list[str] | None = None
    attributes: dict[str, Any] | None = None


class ImageResult(Submission):
    """An image analysed within the request: the job's whole result."""

    success: bool
    processing_time: float | None = None
    detections: list[Detection] = Field(default_factory=list)
    metrics: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    annotated_url: str | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        return "completed" if self.success else "failed"


class JobStatus(VigilModel):
    job_id: UUID
    kind: str
    status: str
    progress: float = 0.0
    frames_processed: int = 0
    frames_total: int | None = None
    processing_speed: float | None = Field(default=None, description="frames per second")
    estimated_completion: datetime | None = None
    attempts: int = 0
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    status_url: str | None = None
    results_url: str | None = None
    annotated_url: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobSummary(VigilModel):
    """One row of `GET /jobs`."""

    job_id: UUID
    kind: str
    status: str
    progress: float = 0.0
    filename: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    status_url: str | None = None


class Frame(VigilModel):
    frame_index: int
    timestamp: float = 0.0
    detections: list[Detection] = Field(default_factory=list)
    metrics: dict[str, Any] | None = None


class Pagination(VigilModel):
    page: int
    page_size: int
    total_frames: int
    pages: int


class JobResults(VigilModel):
    job_id: UUID
    kind: str
    status: str
    created_at: datetime | None = None
    finished_at: datetime | None = None
    processing_time: float | None = None
    media: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    annotated_url: str | None = None
    frames: list[Frame] = Field(default_factory=list)
    pagination: Pagination

    @property
    def next_page(self) -> int | None:
        page = self.pagination.page
        return page + 1 if page < self.pagination.pages else None


class Webhook(VigilModel):
    id: UUID
    url: str
    description: str | None = None
    event_types: list[str] = Field(default_factory=list)
    is_active: bool = True
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebhookCreated(Webhook):
    """The only time (with rotation) the signing secret is shown: store it now."""

    secret: str


class WebhookDelivery(VigilModel):
    id: UUID
    endpoint_id: UUID | None = None
    job_id: UUID | None = None
    url: str | None = None
    event_type: str
    msg_id: str
    status: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None
    payload: dict[str, Any] | None = None


class DeliveryAttempt(VigilModel):
    number: int
    started_at: datetime | None = None
    duration_ms: float | None = None
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


class WebhookDeliveryDetail(WebhookDelivery):
    attempt_log: list[DeliveryAttempt] = Field(default_factory=list)


class BatchItem(VigilModel):
    """One file of a batch: a job when it was accepted, an error when it was not."""

    index: int
    filename: str | None = None
    job_id: UUID | None = None
    kind: str | None = None
    status: str | None = None
    status_url: str | None = None
    results_url: str | None = None
    error: str | None = None
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.job_id is not None


class BatchResult(VigilModel):
    accepted: int
    rejected: int
    jobs: list[BatchItem]


class WatchlistEntry(VigilModel):
    id: UUID
    kind: str
    pattern: str
    label: str | None = None
    created_at: datetime | None = None


class AuditEvent(VigilModel):
    id: int
    action: str
    ip: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class CameraRuntime(VigilModel):
    """What the camera's runner last reported."""

    state: str
    since: datetime | None = None
    runner: str | None = None
    generation: int = 0
    last_frame_at: datetime | None = None
    fps_in: float | None = None
    fps_analysed: float | None = None
    fps_target: float | None = None
    resolution: str | None = None
    codec: str | None = None
    reconnects_last_hour: int = 0
    stalls_last_hour: int = 0
    last_error: str | None = None
    events_published: int = 0
    events_dropped: int = 0


class Camera(VigilModel):
    camera_id: str
    camera_uuid: UUID
    name: str | None = None
    status: str = Field(description="`active` or `inactive`: what the camera was asked to do")
    stream_url: str = Field(description="without its credentials (`***` where it has some)")
    has_credentials: bool = False
    parameters: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    runtime: CameraRuntime


class CameraBatchItem(VigilModel):
    """One camera of a list: the camera when it was created, why not when it was refused."""

    index: int
    camera_id: str | None = None
    camera_uuid: UUID | None = None
    status_code: int | None = None
    error: str | None = None
    detail: str | None = None
    fields: list[dict[str, Any]] | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


class CameraBatch(VigilModel):
    accepted: int
    rejected: int
    cameras: list[CameraBatchItem]


class CameraViewToken(VigilModel):
    """Lets its bearer (an `<img>`) view one camera until `expires_at`."""

    token: str
    expires_at: datetime
    snapshot_url: str = Field(description="relative to the service's address")
    mjpeg_url: str


class CameraEvent(VigilModel):
    """A camera event kept for search (`anpr`, `watchlist_match`, `status`)."""

    event_id: UUID
    type: str
    camera_id: str
    camera_uuid: UUID
    plate: str | None = None
    timestamp: datetime
    generation: int = 0
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
