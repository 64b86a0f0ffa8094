"""`faces`: frontal faces with the Haar cascade that ships in OpenCV's wheels.

By default the cascade searches only the heads of the people YOLO finds (the same inference the
other detectors share): a whole 1280x720 frame costs the cascade about 0.6 s on a 2-core CPU,
a few dozen head regions a fraction of that, and faces on walls, posters and textured
backgrounds never come up. `search: "frame"` scans the whole frame instead."""

from __future__ import annotations

import math
from functools import cached_property

import cv2
import numpy as np

from shared.params import FacesParams
from shared.settings import get_settings
from worker.detectors.base import Detection, Detector, FrameModel, suppress_overlaps
from worker.detectors.cascades import haar_cascade
from worker.detectors.yolo import YoloRunner, yolo_runner

LABEL = "face"
SOURCE = "haar"
# The YOLO score at which a box is a person whose head is worth searching.
PERSON_CONFIDENCE = 0.25
CASCADE_FILE = "haarcascade_frontalface_default.xml"


def face_confidence(level_weight: float) -> float:
    """The last stage's summed vote squashed with the logistic 1 / (1 + e^-w): 0.5 where that
    stage's vote is neutral, towards 1 for clear faces. A ranking, not a calibrated
    probability: on ultralytics' photos real faces score above 0.99 and background textures
    the cascade accepts score 0.4 to 0.75."""
    return 1.0 / (1.0 + math.exp(-level_weight))


class FaceDetector(Detector[FacesParams]):
    kind = "faces"
    role = "part"  # of a person

    def __init__(self, config: FacesParams) -> None:
        super().__init__(config)
        self.cascade = haar_cascade(CASCADE_FILE)

    @cached_property
    def runner(self) -> YoloRunner:
        return yolo_runner(get_settings().model_name)

    @property
    def frame_model(self) -> FrameModel | None:
        return self.runner if self.config.search != "frame" else None

    def detect(self, frame: np.ndarray) -> list[Detection]:
        # Equalising spreads a dim or washed-out frame over the grey levels the cascade's
        # Haar features were trained on.
        grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        height, width = grey.shape[:2]
        regions = (
            [(0, 0, width, height)]
            if self.config.search == "frame"
            else [head_region(p, width, height) for p in self._people(frame)]
        )
        faces: list[Detection] = []
        for x1, y1, x2, y2 in regions:
            if min(x2 - x1, y2 - y1) >= self.config.min_face_size:
                faces += self._cascade(grey[y1:y2, x1:x2], x1, y1)
        # Heads of people standing close together share pixels: one face, found twice.
        return suppress_overlaps(
            [face for face in faces if face.confidence >= self.config.confidence], max_iou=0.3
        )

    def _people(self, frame: np.ndarray) -> list[Detection]:
        return self.runner.predict(frame).select(PERSON_CONFIDENCE, ("person",), 0)

    def _cascade(self, grey: np.ndarray, dx: int, dy: int) -> list[Detection]:
        size = self.config.min_face_size
        boxes, _, weights = self.cascade.detectMultiScale3(
            grey,
            scaleFactor=self.config.scale_factor,
            minNeighbors=self.config.min_neighbors,
            minSize=(size, size),
            outputRejectLevels=True,
        )
        return [
            Detection(
                LABEL, face_confidence(weight), dx + x, dy + y, dx + x + w, dy + y + h, SOURCE
            )
            for (x, y, w, h), weight in zip(
                np.asarray(boxes, dtype=float).reshape(-1, 4).tolist(),
                np.asarray(weights, dtype=float).ravel().tolist(),
                strict=True,
            )
        ]


def head_region(person: Detection, width: int, height: int) -> tuple[int, int, int, int]:
    """Where a person's face can be: the upper half of the box, widened a little for heads
    that stick out of it. Pixels, clipped to the frame."""
    margin = 0.15 * person.width
    return (
        max(0, int(person.x1 - margin)),
        max(0, int(person.y1 - margin)),
        min(width, int(person.x2 + margin + 1)),
        min(height, int(person.y1 + 0.5 * person.height + 1)),
    )
