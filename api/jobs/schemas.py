from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import DetectionRead, FrameMetricsRead, FrameRead
from shared.db.enums import JobKind, JobStatus


class JobAccepted(BaseModel):
    job_id: UUID
    status: JobStatus
    status_url: str
    results_url: str


class ImageSummary(BaseModel):
    """The summary in the shape the image-processing API's clients read; the analytics the
    job asked for (crowd, zones, events) follow it."""

    model_config = ConfigDict(extra="allow")

    total_objects: int
    people_count: int
    vehicles_count: int
    faces_count: int = 0
    dominant_object: str | None
    class_counts: dict[str, int] = Field(default_factory=dict)


class ImageMetadata(BaseModel):
    image_dimensions: str = Field(description="WIDTHxHEIGHT")
    model_version: str
    timestamp: datetime


class ImageResult(BaseModel):
    """The image response in the shape the image-processing API's clients read, plus the job
    it was recorded under."""

    success: bool
    job_id: UUID
    processing_time: float | None = Field(description="seconds the worker spent on analysis")
    detections: list[DetectionRead]
    metrics: FrameMetricsRead | None = None
    summary: ImageSummary | None
    metadata: ImageMetadata | None
    annotated_url: str | None = Field(
        default=None, description="the annotated JPEG, when params.annotate was set"
    )
    error: str | None = None


class JobStatusRead(BaseModel):
    job_id: UUID
    kind: JobKind
    status: JobStatus
    progress: float = Field(description="percent complete")
    frames_processed: int
    frames_total: int | None
    processing_speed: float | None = Field(description="frames analysed per second")
    estimated_completion: datetime | None
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    status_url: str
    results_url: str
    annotated_url: str | None = Field(
        default=None, description="the annotated JPEG/MP4 once ready (params.annotate)"
    )


class JobListItem(BaseModel):
    job_id: UUID
    kind: JobKind
    status: JobStatus
    progress: float
    filename: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    status_url: str


class JobList(BaseModel):
    items: list[JobListItem]
    total: int
    page: int
    page_size: int


class Pagination(BaseModel):
    page: int
    page_size: int
    total_frames: int
    pages: int


class JobResults(BaseModel):
    job_id: UUID
    kind: JobKind
    status: JobStatus
    created_at: datetime
    finished_at: datetime | None
    processing_time: float | None
    media: dict[str, Any] | None
    params: dict[str, Any]
    model: dict[str, Any] | None
    summary: dict[str, Any] | None
    annotated_url: str | None = None
    frames: list[FrameRead]
    pagination: Pagination


class BatchJobAccepted(BaseModel):
    index: int = Field(description="position of the file among the `files` parts, from 0")
    filename: str | None
    job_id: UUID
    kind: JobKind
    status: JobStatus
    status_url: str
    results_url: str


class BatchItemRejected(BaseModel):
    index: int = Field(description="position of the file among the `files` parts, from 0")
    filename: str | None
    error: str = Field(description="unsupported_media_type, payload_too_large or unprocessable")
    detail: str


class BatchAccepted(BaseModel):
    accepted: int
    rejected: int
    jobs: list[BatchJobAccepted | BatchItemRejected] = Field(description="one item per file")
