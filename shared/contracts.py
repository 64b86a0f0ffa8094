"""What crosses the queue and the API: task names, queues, payloads, job parameters and
result shapes."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

# Where the REST API lives; links in job payloads and webhooks are built under it.
API_PREFIX = "/api/v1"

IMAGE_ANALYZE = "image.analyze"
VIDEO_ANALYZE = "video.analyze"
JOBS_SWEEP = "jobs.sweep"
WEBHOOK_DELIVER = "webhook.deliver"
WEBHOOKS_SWEEP = "webhooks.sweep"

IMAGE_QUEUE = "images"
VIDEO_QUEUE = "video"
MAINTENANCE_QUEUE = "maintenance"
# Its own queue and worker, so a long video never delays a webhook.
WEBHOOK_QUEUE = "webhooks"
# What an analysis worker consumes; the webhook worker consumes WEBHOOK_QUEUE alone.
ANALYSIS_QUEUES = (IMAGE_QUEUE, VIDEO_QUEUE, MAINTENANCE_QUEUE)
ALL_QUEUES = (*ANALYSIS_QUEUES, WEBHOOK_QUEUE)

TASK_QUEUES = {
    IMAGE_ANALYZE: IMAGE_QUEUE,
    VIDEO_ANALYZE: VIDEO_QUEUE,
    JOBS_SWEEP: MAINTENANCE_QUEUE,
    WEBHOOK_DELIVER: WEBHOOK_QUEUE,
    WEBHOOKS_SWEEP: WEBHOOK_QUEUE,
}

# Webhook event types a user can subscribe an endpoint to.
EVENT_JOB_COMPLETED = "job.completed"
EVENT_JOB_FAILED = "job.failed"
EVENT_JOB_PROGRESS = "job.progress"
EVENT_WATCHLIST_MATCH = "plate.watchlist_match"
# A camera's runner sends these as the camera comes online and as it goes offline.
EVENT_CAMERA_ONLINE = "camera.online"
EVENT_CAMERA_OFFLINE = "camera.offline"
WEBHOOK_EVENT_TYPES = (
    EVENT_JOB_COMPLETED,
    EVENT_JOB_FAILED,
    EVENT_JOB_PROGRESS,
    EVENT_WATCHLIST_MATCH,
    EVENT_CAMERA_ONLINE,
    EVENT_CAMERA_OFFLINE,
)

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

VEHICLE_CLASSES = frozenset(
    {"bicycle", "car", "motorcycle", "bus", "train", "truck", "boat", "airplane"}
)
ANIMAL_CLASSES = frozenset(
    {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}
)

ObjectType = Literal["person", "face", "vehicle", "animal", "object", "motion", "plate"]
PLATE_LABEL = "license_plate"


def object_type(label: str) -> ObjectType:
    if label in ("person", "face", "motion"):
        return label  # type: ignore[return-value]
    if label == PLATE_LABEL:
        return "plate"
    if label in VEHICLE_CLASSES:
        return "vehicle"
    if label in ANIMAL_CLASSES:
        return "animal"
    return "object"


class JobPayload(BaseModel):
    """A task's only argument: the job id. Everything else is read from Postgres."""

    job_id: UUID


class DetectionRead(BaseModel):
    label: str
    confidence: float
    bbox: list[int] = Field(description="[x1, y1, x2, y2] in pixels")
    bbox_normalized: list[float] = Field(description="[x1, y1, x2, y2] in 0..1")
    type: ObjectType
    source: str | None = Field(
        default=None, description="model that found it: yolo, hog, yolo+hog, haar or motion"
    )
    detector: str | None = Field(default=None, description="the detector that reported it")
    track_id: int | None = Field(
        default=None, description="stable id of the object across frames (videos with tracking)"
    )
    zones: list[str] | None = Field(
        default=None, description="zones its anchor (bottom centre) lies in, when zones are set"
    )
    attributes: dict[str, Any] | None = Field(
        default=None, description="detector-specific facts, e.g. is_moving, hog_score"
    )


class MotionRead(BaseModel):
    motion_intensity: float = Field(description="mean change of the moving pixels, 0..1")
    affected_area_percentage: float = Field(description="moving share of the frame, 0..100")
    moving: bool


class ZoneOccupancyRead(BaseModel):
    count: int
    by_class: dict[str, int]


class FrameMetricsRead(BaseModel):
    people_count: int | None = None
    crowd_level: str | None = None
    density: float | None = Field(default=None, description="people per frame area")
    zone_density: dict[str, float] | None = Field(
        default=None, description="people per zone area (zone area as a share of the frame)"
    )
    zones: dict[str, ZoneOccupancyRead] | None = None
    motion: MotionRead | None = None
    inference: Literal["detected", "carried"] | None = Field(
        default=None,
        description="With the motion gate on: `detected` when the detectors ran on this frame, "
        "`carried` when too little had changed and the last detected frame's boxes carried over.",
    )


class FrameRead(BaseModel):
    frame_index: int
    timestamp: float = Field(description="seconds from the start of the video")
    detections: list[DetectionRead]
    metrics: FrameMetricsRead | None = None


# Remote-control command a worker answers with the models it serves (see worker/celery_app.py).
MODELS_CONTROL_COMMAND = "vigil_models"
