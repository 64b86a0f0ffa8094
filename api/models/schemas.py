from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ModelRead(BaseModel):
    name: str
    file: str
    format: str
    task: str
    version: str | None
    sha256: str | None
    classes: list[str] | None
    workers: list[str]


class DetectorRead(BaseModel):
    kind: str
    description: str
    parameters: dict[str, Any] = Field(
        description="JSON schema of the detector's entry in params.detectors"
    )
    defaults: dict[str, Any] = Field(
        description="values used where the job gives none; null ones take the job-wide value "
        "(confidence_threshold, min_box_size, classes)"
    )
    loaded: bool = Field(
        description="built by the answering workers as each process starts "
        "(VIGIL_WARMUP_DETECTORS); otherwise it loads on the first job that asks for it"
    )
    workers: list[str]


class ModelList(BaseModel):
    models: list[ModelRead]
    detectors: list[DetectorRead]
    workers_answering: int
