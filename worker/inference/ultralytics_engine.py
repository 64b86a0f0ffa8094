"""A `.pt` model (or any format only ultralytics runs) through ultralytics' predictor, which
imports torch: only a server configured with such a model pays for it."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from worker.inference.nms import Boxes


class UltralyticsEngine:
    """ultralytics' predictor is not thread-safe: one thread runs every prediction."""

    runtime = "ultralytics"

    def __init__(self, path: Path) -> None:
        from ultralytics import YOLO

        # Ultralytics logs each backend load to stdout; ours goes through logging instead.
        logging.getLogger("ultralytics").setLevel(logging.WARNING)
        self._model = YOLO(str(path), task="detect")
        self.names = {int(k): str(v) for k, v in self._model.names.items()}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ultralytics")

    def submit(self, frame: np.ndarray, conf_floor: float, *, ahead: bool = False) -> Future[Boxes]:
        return self._pool.submit(self._detect, frame, conf_floor)

    def _detect(self, frame: np.ndarray, conf_floor: float) -> Boxes:
        result: Any = self._model.predict(frame, conf=conf_floor, verbose=False)[0]
        boxes = result.boxes
        return Boxes(boxes.xyxy.cpu().numpy(), boxes.conf.cpu().numpy(), boxes.cls.cpu().numpy())
