"""One YOLO inference per frame, shared by every detector built on it (`objects`, `people`,
`vehicles`, the persons `faces` searches and the vehicles `plates` reads): each filters the same
raw output by class, score and size."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from worker.detectors.base import Detection
from worker.detectors.models import load_yolo

# The lowest score any job may ask for (JobParams bounds confidence to 0.1..0.9). Greedy NMS
# only lets a box suppress lower-scoring ones, so filtering this output at a higher score gives
# exactly the boxes a prediction at that score would.
FLOOR_CONFIDENCE = 0.1
SOURCE = "yolo"


@dataclass(frozen=True)
class YoloOutput:
    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray
    names: dict[int, str]

    def select(
        self, confidence: float, labels: Collection[str] | None, min_box_size: int
    ) -> list[Detection]:
        detections = []
        for (x1, y1, x2, y2), conf, cls in zip(
            self.xyxy.tolist(), self.conf.tolist(), self.cls.tolist(), strict=True
        ):
            label = self.names[int(cls)]
            if conf < confidence or (labels is not None and label not in labels):
                continue
            if x2 - x1 < min_box_size or y2 - y1 < min_box_size:
                continue
            detections.append(Detection(label, float(conf), x1, y1, x2, y2, source=SOURCE))
        return detections


class YoloRunner:
    """One model, shared by every detector and stream of a process. Predicts once per frame
    object: a second detector asking about the frame just predicted gets the remembered output.

    The memo is per thread and holds the frame itself, so that it can only answer for that very
    array: streams analysed in turn in one thread each pass their own frame objects, and a
    pipeline hands every detector the same one. Ultralytics' predictor is not thread-safe, so
    predictions take turns."""

    def __init__(self, model_name: str) -> None:
        self.model = load_yolo(model_name)
        self._lock = threading.Lock()
        self._memo = threading.local()

    def predict(self, frame: np.ndarray) -> YoloOutput:
        last: tuple[np.ndarray, YoloOutput] | None = getattr(self._memo, "last", None)
        if last is not None and last[0] is frame:
            return last[1]
        with self._lock:
            result: Any = self.model.predict(frame, conf=FLOOR_CONFIDENCE, verbose=False)[0]
        boxes = result.boxes
        output = YoloOutput(
            xyxy=boxes.xyxy.cpu().numpy(),
            conf=boxes.conf.cpu().numpy(),
            cls=boxes.cls.cpu().numpy(),
            names=dict(result.names),
        )
        self._memo.last = (frame, output)
        return output


@lru_cache
def yolo_runner(model_name: str) -> YoloRunner:
    return YoloRunner(model_name)
