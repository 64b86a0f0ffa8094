"""`vehicles`: cars, trucks, motorcycles, buses and bicycles from YOLO."""

from __future__ import annotations

import numpy as np

from shared.params import VehiclesParams
from shared.settings import get_settings
from worker.detectors.base import Detection, Detector, FrameModel
from worker.detectors.yolo import yolo_runner


class VehicleDetector(Detector[VehiclesParams]):
    kind = "vehicles"

    def __init__(self, config: VehiclesParams) -> None:
        super().__init__(config)
        self.runner = yolo_runner(get_settings().model_name)

    @property
    def frame_model(self) -> FrameModel | None:
        return self.runner

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return self.runner.predict(frame).select(
            self.config.confidence or 0.0, self.config.types, self.config.min_box_size or 0
        )
