"""`people`: persons from YOLO, from OpenCV's HOG pedestrian detector, or both fused.

`fuse` and `keep_confident` are pure, so `make eval` sweeps thresholds over one pass of raw
detections and measures exactly what this detector would report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache, cached_property

import cv2
import numpy as np

from shared.params import PeopleParams
from shared.settings import get_settings
from worker.detectors.base import Detection, Detector, FrameModel, suppress_overlaps
from worker.detectors.yolo import FLOOR_CONFIDENCE, YoloRunner, yolo_runner

LABEL = "person"
HOG_SOURCE = "hog"
FUSED_SOURCE = "yolo+hog"

# HOG cost grows with the pixel count while its 64x128 window stays fixed; at 640 px wide a
# frame takes ~50 ms on one core and still holds people a window can match.
HOG_MAX_WIDTH = 640
# OpenCV's peopledetect sample settings: a finer stride or scale step multiplies the run time
# for little gain.
HOG_WIN_STRIDE = (8, 8)
HOG_PADDING = (8, 8)
HOG_SCALE = 1.05
# HOG's own grouping leaves overlapping windows on one person.
HOG_NMS_IOU = 0.45


def hog_confidence(weight: float) -> float:
    """The SVM margin squashed to 0..1 as m / (1 + m): 0 on the decision boundary and 0.5 at a
    margin of 1, the margin a hinge-loss SVM is trained to give its positives. A ranking, not
    a calibrated probability."""
    margin = max(weight, 0.0)
    return margin / (1.0 + margin)


def shrink_hog_window(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """x1, y1, x2, y2 of the person inside a HOG window: the window carries a margin around
    the body, so its box overlaps a tight ground-truth box poorly (the correction of OpenCV's
    peopledetect sample)."""
    x1, y1 = x + 0.1 * w, y + 0.07 * h
    return x1, y1, x1 + 0.8 * w, y1 + 0.8 * h


def merge(yolo: Detection, hog: Detection) -> Detection:
    """YOLO's box (tighter than HOG's) with both scores combined as a noisy-OR, 1 - (1-a)(1-b):
    two independent detectors agreeing make a person likelier than either alone says."""
    combined = 1.0 - (1.0 - yolo.confidence) * (1.0 - hog.confidence)
    attributes = {**yolo.attributes, **hog.attributes, "yolo_confidence": yolo.confidence}
    return replace(yolo, confidence=combined, source=FUSED_SOURCE, attributes=attributes)


def fuse(yolo: Sequence[Detection], hog: Sequence[Detection], min_iou: float) -> list[Detection]:
    """YOLO and HOG boxes with each overlapping pair (IoU >= min_iou, best overlaps first, each
    box in one pair at most) merged; unmatched boxes pass through with their own source."""
    pairs = sorted(
        ((y.iou(h), i, j) for i, y in enumerate(yolo) for j, h in enumerate(hog)), reverse=True
    )
    partner: dict[int, int] = {}
    taken: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in partner and j not in taken:
            partner[i] = j
            taken.add(j)
    fused = [merge(y, hog[partner[i]]) if i in partner else y for i, y in enumerate(yolo)]
    return fused + [h for j, h in enumerate(hog) if j not in taken]


def keep_confident(
    detections: Sequence[Detection], confidence: float, hog_min: float
) -> list[Detection]:
    """HOG-only boxes answer to the HOG threshold, YOLO and merged boxes to the main one."""
    return [
        d for d in detections if d.confidence >= (hog_min if d.source == HOG_SOURCE else confidence)
    ]


class HogPeople:
    """OpenCV's default HOG + linear SVM pedestrian detector, every window it accepts."""

    def __init__(self) -> None:
        self.descriptor = cv2.HOGDescriptor()
        # The stubs type the coefficients as a Sequence; the call wants an array.
        svm = np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32)
        self.descriptor.setSVMDetector(svm)

    def detect(self, frame: np.ndarray, min_box_size: int) -> list[Detection]:
        scale = min(1.0, HOG_MAX_WIDTH / frame.shape[1])
        small = (
            frame
            if scale == 1.0
            else cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        rects, weights = self.descriptor.detectMultiScale(
            small, winStride=HOG_WIN_STRIDE, padding=HOG_PADDING, scale=HOG_SCALE
        )
        windows = np.asarray(rects, dtype=float).reshape(-1, 4).tolist()
        scores = np.asarray(weights, dtype=float).ravel().tolist()
        detections = [
            _hog_detection(window, score, scale)
            for window, score in zip(windows, scores, strict=True)
        ]
        return suppress_overlaps(
            [d for d in detections if min(d.width, d.height) >= min_box_size], HOG_NMS_IOU
        )


@cache
def hog_people() -> HogPeople:
    """One HOG detector per process: it keeps no state between frames."""
    return HogPeople()


def _hog_detection(window: list[float], weight: float, scale: float) -> Detection:
    x1, y1, x2, y2 = (v / scale for v in shrink_hog_window(*window))
    confidence = hog_confidence(weight)
    return Detection(
        LABEL, confidence, x1, y1, x2, y2, source=HOG_SOURCE, attributes={"hog_score": weight}
    )


class PeopleDetector(Detector[PeopleParams]):
    kind = "people"

    @cached_property
    def runner(self) -> YoloRunner:
        return yolo_runner(get_settings().model_name)

    @property
    def hog(self) -> HogPeople:
        return hog_people()

    @property
    def frame_model(self) -> FrameModel | None:
        return self.runner if self.config.strategy != "hog" else None

    def detect(self, frame: np.ndarray) -> list[Detection]:
        confidence = self.config.confidence or 0.0
        if self.config.strategy == "yolo":
            return self.yolo_candidates(frame, confidence)
        if self.config.strategy == "hog":
            hog_min = self.config.hog_confidence
            return [d for d in self.hog_candidates(frame) if d.confidence >= hog_min]
        # YOLO's weak persons go in too: a HOG box agreeing with one can lift it over the bar.
        fused = fuse(
            self.yolo_candidates(frame, FLOOR_CONFIDENCE),
            self.hog_candidates(frame),
            self.config.fusion_iou,
        )
        return keep_confident(fused, confidence, self.config.hog_confidence)

    def yolo_candidates(self, frame: np.ndarray, confidence: float) -> list[Detection]:
        return self.runner.predict(frame).select(
            confidence, (LABEL,), self.config.min_box_size or 0
        )

    def hog_candidates(self, frame: np.ndarray) -> list[Detection]:
        """Every HOG person after suppression, whatever its score."""
        return self.hog.detect(frame, self.config.min_box_size or 0)
