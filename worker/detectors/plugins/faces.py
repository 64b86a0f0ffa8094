"""`faces`: frontal faces with the Haar cascade that ships in OpenCV's wheels."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from shared.params import FacesParams
from worker.detectors.base import Detection, Detector
from worker.errors import ModelUnavailableError

LABEL = "face"
SOURCE = "haar"
CASCADE_FILE = "haarcascade_frontalface_default.xml"


def cascade_path() -> Path:
    # opencv-python 5 drops cv2.data along with the cascades (and the stubs never had it).
    data = getattr(cv2, "data", None)
    if data is None:
        raise ModelUnavailableError(
            f"this OpenCV ({cv2.__version__}) ships no Haar cascades; install opencv-python<5"
        )
    return Path(data.haarcascades) / CASCADE_FILE


def load_cascade(path: Path) -> cv2.CascadeClassifier:
    """The cascade at `path`; OpenCV reports a missing or broken file only as an empty one."""
    try:
        cascade = cv2.CascadeClassifier(str(path))
    except (AttributeError, cv2.error) as exc:
        raise ModelUnavailableError(f"cannot load the face cascade {path}: {exc}") from exc
    if cascade.empty():
        raise ModelUnavailableError(f"cannot load the face cascade {path} (missing or corrupt)")
    return cascade


def face_confidence(level_weight: float) -> float:
    """The last stage's summed vote squashed with the logistic 1 / (1 + e^-w): 0.5 where that
    stage's vote is neutral, towards 1 for clear faces. A ranking, not a calibrated
    probability: on ultralytics' photos real faces score above 0.99 and background textures
    the cascade accepts score 0.4 to 0.75."""
    return 1.0 / (1.0 + math.exp(-level_weight))


class FaceDetector(Detector[FacesParams]):
    kind = "faces"
    config_class = FacesParams

    def __init__(self, config: FacesParams) -> None:
        super().__init__(config)
        self.cascade = load_cascade(cascade_path())

    def detect(self, frame: np.ndarray) -> list[Detection]:
        # Equalising spreads a dim or washed-out frame over the grey levels the cascade's
        # Haar features were trained on.
        grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        size = self.config.min_face_size
        boxes, _, weights = self.cascade.detectMultiScale3(
            grey,
            scaleFactor=self.config.scale_factor,
            minNeighbors=self.config.min_neighbors,
            minSize=(size, size),
            outputRejectLevels=True,
        )
        faces = [
            Detection(LABEL, face_confidence(weight), x, y, x + w, y + h, source=SOURCE)
            for (x, y, w, h), weight in zip(
                np.asarray(boxes, dtype=float).reshape(-1, 4).tolist(),
                np.asarray(weights, dtype=float).ravel().tolist(),
                strict=True,
            )
        ]
        return [face for face in faces if face.confidence >= self.config.confidence]
