"""`objects`: YOLO over the 80 COCO classes."""

from __future__ import annotations

import numpy as np

from shared.params import ObjectsParams
from shared.settings import get_settings
from worker.detectors.base import Detection, Detector, FrameModel
from worker.detectors.yolo import yolo_runner


class ObjectDetector(Detector[ObjectsParams]):
    kind = "objects"
    # General-purpose, so merged last: where its box coincides with a specialised detector's,
    # the specialised one (with its source, e.g. `yolo+hog`) is kept.
    merge_priority = 1

    def __init__(self, config: ObjectsParams) -> None:
        super().__init__(config)
        self.runner = yolo_runner(get_settings().model_name)

    @property
    def frame_model(self) -> FrameModel | None:
        return self.runner

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return self.runner.predict(frame).select(
            self.config.confidence or 0.0, self.config.classes, self.config.min_box_size or 0
        )
