"""The interface every detector implements; the analysis pipeline knows only this.

A detector's config class is its parameter schema from shared/params.py (the API validates
the same schema), resolved with the job's defaults, frozen and hashable."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from shared.params import DetectorParams


@dataclass(frozen=True, slots=True)
class Detection:
    """One box in pixels. `source` names the model that found it (`yolo`, `hog`, `yolo+hog`,
    `haar`, `motion`); `attributes` carries detector-specific facts (e.g. a HOG score)."""

    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float
    source: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def iou(self, other: Detection) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def suppress_overlaps(detections: Sequence[Detection], max_iou: float) -> list[Detection]:
    """Greedy non-maximum suppression: the highest-scoring box wins each overlapping group."""
    kept: list[Detection] = []
    for detection in sorted(detections, key=lambda d: d.confidence, reverse=True):
        if all(detection.iou(other) <= max_iou for other in kept):
            kept.append(detection)
    return kept


ConfigT = TypeVar("ConfigT", bound=DetectorParams)


class Detector(ABC, Generic[ConfigT]):
    kind: ClassVar[str]
    config_class: ClassVar[type[DetectorParams]]

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @abstractmethod
    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Detections in one BGR frame."""

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections for several frames; override where the backend batches natively."""
        return [self.detect(frame) for frame in frames]

    def reset(self) -> None:
        """Forget what earlier frames left behind; called before each image or video, because
        one cached instance serves every job of a worker process."""

    def frame_metrics(self) -> dict[str, Any]:
        """Measurements of the last frame passed to `detect` beyond its boxes (motion level,
        say), stored with the frame's results under the detector's kind."""
        return {}
