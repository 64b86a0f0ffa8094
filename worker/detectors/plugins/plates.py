"""`plates`: licence plates on the vehicles YOLO finds. `detect` gives the vehicles (so the
pipeline tracks them even in a job that asked for plates alone); the pipeline's PlateMonitor
then calls `read` on the frames and vehicles worth reading (every vehicle of an image; a
tracked vehicle's best views in a video)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.params import PlateLocalisation, PlatesParams
from shared.settings import get_settings
from worker.anpr.ocr import default_engine, get_engine
from worker.anpr.reader import Box, PlateRead, PlateReader
from worker.detectors.base import Detection, Detector
from worker.detectors.yolo import yolo_runner

# COCO vehicles that carry plates (bicycles do not).
PLATED_VEHICLES = ("car", "motorcycle", "bus", "truck")


class PlateDetector(Detector[PlatesParams]):
    kind = "plates"
    config_class = PlatesParams

    def __init__(self, config: PlatesParams) -> None:
        super().__init__(config)
        settings = get_settings()
        self.runner = yolo_runner(settings.model_name)
        self.engine_name = config.ocr_engine or default_engine()
        self.reader = PlateReader(
            get_engine(self.engine_name),
            settings.plate_formats,
            config.region or settings.plate_region,
        )

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return self.runner.predict(frame).select(self.config.vehicle_confidence, PLATED_VEHICLES, 0)

    def read(
        self, frame: np.ndarray, vehicles: Sequence[Box], strategy: PlateLocalisation
    ) -> list[PlateRead]:
        """The plate reading of each vehicle (or, with none, of the frame) that is confident
        enough to report."""
        return [
            read
            for read in self.reader.read(frame, vehicles, strategy)
            if read.confidence >= self.config.confidence
        ]
