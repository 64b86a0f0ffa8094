"""The interface every detector implements; the analysis pipeline knows only this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from shared.contracts import object_type


@dataclass(frozen=True, slots=True)
class Detection:
    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float
    source: str

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def to_dict(self, frame_width: int, frame_height: int) -> dict[str, Any]:
        """The public shape (DetectionRead in shared/contracts.py)."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "bbox": [round(self.x1), round(self.y1), round(self.x2), round(self.y2)],
            "bbox_normalized": [
                round(self.x1 / frame_width, 4),
                round(self.y1 / frame_height, 4),
                round(self.x2 / frame_width, 4),
                round(self.y2 / frame_height, 4),
            ],
            "type": object_type(self.label),
        }


class DetectorConfig(BaseModel):
    """A detector's settings for one job. Frozen, so equal configs share one cached instance."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    kind: str


ConfigT = TypeVar("ConfigT", bound=DetectorConfig)


class Detector(ABC, Generic[ConfigT]):
    kind: ClassVar[str]
    config_class: ClassVar[type[DetectorConfig]]

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @abstractmethod
    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Detections in one BGR frame."""

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections for several frames; override where the backend batches natively."""
        return [self.detect(frame) for frame in frames]
