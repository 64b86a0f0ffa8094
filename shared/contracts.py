"""What crosses the queue and the API: task names, queues, payloads, job parameters and
result shapes."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

IMAGE_ANALYZE = "image.analyze"
VIDEO_ANALYZE = "video.analyze"
JOBS_SWEEP = "jobs.sweep"

IMAGE_QUEUE = "images"
VIDEO_QUEUE = "video"
MAINTENANCE_QUEUE = "maintenance"
ALL_QUEUES = (IMAGE_QUEUE, VIDEO_QUEUE, MAINTENANCE_QUEUE)

TASK_QUEUES = {
    IMAGE_ANALYZE: IMAGE_QUEUE,
    VIDEO_ANALYZE: VIDEO_QUEUE,
    JOBS_SWEEP: MAINTENANCE_QUEUE,
}

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

ObjectType = Literal["person", "vehicle", "animal", "object"]


def object_type(label: str) -> ObjectType:
    if label == "person":
        return "person"
    if label in VEHICLE_CLASSES:
        return "vehicle"
    if label in ANIMAL_CLASSES:
        return "animal"
    return "object"


class JobPayload(BaseModel):
    """A task's only argument: the job id. Everything else is read from Postgres."""

    job_id: UUID


class JobParams(BaseModel):
    """Per-job analysis parameters (the optional `params` JSON of an upload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence_threshold: float = Field(default=0.25, ge=0.1, le=0.9)
    classes: list[str] | None = Field(
        default=None, min_length=1, description="COCO class names to keep; all when omitted."
    )
    min_box_size: int = Field(
        default=0, ge=0, le=10_000, description="Drop boxes narrower or shorter than this (px)."
    )
    frame_skip: int = Field(default=1, ge=1, le=1000, description="Analyse every Nth frame.")
    max_frames: int | None = Field(
        default=None, ge=1, description="Stop after analysing this many frames."
    )

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = sorted({name for name in value if name not in COCO_CLASSES})
        if unknown:
            raise ValueError(f"unknown class names: {', '.join(unknown)} (use COCO class names)")
        return list(dict.fromkeys(value))


class DetectionRead(BaseModel):
    label: str
    confidence: float
    bbox: list[int] = Field(description="[x1, y1, x2, y2] in pixels")
    bbox_normalized: list[float] = Field(description="[x1, y1, x2, y2] in 0..1")
    type: ObjectType


class FrameRead(BaseModel):
    frame_index: int
    timestamp: float = Field(description="seconds from the start of the video")
    detections: list[DetectionRead]


# Remote-control command a worker answers with the models it serves (see worker/celery_app.py).
MODELS_CONTROL_COMMAND = "vigil_models"
