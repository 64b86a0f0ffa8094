"""`plates`: the vehicles whose plates the plates analyser (worker/engine/analysers/plates.py)
reads. They are reported here so that the pipeline tracks them even in a job that asked for
plates alone; the reading itself keeps per-vehicle state, so the analyser does it."""

from __future__ import annotations

import numpy as np

from shared.params import PlatesParams
from shared.settings import get_settings
from worker.anpr.reader import PLATED_VEHICLES
from worker.detectors.base import Detection, Detector, FrameModel
from worker.detectors.yolo import yolo_runner


class PlateDetector(Detector[PlatesParams]):
    kind = "plates"

    def __init__(self, config: PlatesParams) -> None:
        super().__init__(config)
        self.runner = yolo_runner(get_settings().model_name)

    @property
    def frame_model(self) -> FrameModel | None:
        return self.runner

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return self.runner.predict(frame).select(self.config.vehicle_confidence, PLATED_VEHICLES, 0)
