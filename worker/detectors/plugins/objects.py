"""`objects`: YOLO over the 80 COCO classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from shared.settings import get_settings
from worker.detectors.base import Detection, Detector, DetectorConfig
from worker.detectors.models import load_yolo


class ObjectsConfig(DetectorConfig):
    kind: Literal["objects"] = "objects"
    model: str = Field(default_factory=lambda: get_settings().model_name)
    confidence: float = Field(default=0.25, ge=0.1, le=0.9)
    classes: tuple[str, ...] | None = None
    min_box_size: int = Field(default=0, ge=0)


class ObjectDetector(Detector[ObjectsConfig]):
    kind = "objects"
    config_class = ObjectsConfig

    def __init__(self, config: ObjectsConfig) -> None:
        super().__init__(config)
        self.model = load_yolo(config.model)
        names: dict[int, str] = self.model.names
        self.class_ids = (
            [i for i, label in names.items() if label in config.classes]
            if config.classes is not None
            else None
        )

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        if self.class_ids == []:
            return [[] for _ in frames]
        # The OpenVINO exports take a batch of one; predicting frame by frame is what they support.
        return [self._predict(frame) for frame in frames]

    def _predict(self, frame: np.ndarray) -> list[Detection]:
        kwargs: dict[str, Any] = {"conf": self.config.confidence, "verbose": False}
        if self.class_ids is not None:
            kwargs["classes"] = self.class_ids
        result = self.model.predict(frame, **kwargs)[0]
        boxes = result.boxes
        names = result.names
        detections = []
        for (x1, y1, x2, y2), conf, cls in zip(
            boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True
        ):
            size = self.config.min_box_size
            if x2 - x1 < size or y2 - y1 < size:
                continue
            detections.append(
                Detection(names[int(cls)], float(conf), x1, y1, x2, y2, source=self.kind)
            )
        return detections
