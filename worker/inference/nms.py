"""A YOLO detection head's raw output → boxes: the best class per anchor above the score floor,
then greedy non-maximum suppression within each class. The thresholds are ultralytics' predict
defaults, so both engines return the same boxes for the same model."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

IOU_THRESHOLD = 0.7
MAX_DETECTIONS = 300
# The most candidates NMS sorts, highest scores first: a frame of noise cannot make it slow.
MAX_CANDIDATES = 30000
# Boxes of different classes are moved this far apart so that one NMS pass never lets a box
# suppress another class's: larger than any input side.
CLASS_OFFSET = 7680.0


@dataclass(frozen=True, slots=True)
class Boxes:
    """Detections in pixels: `xyxy` (N, 4) float32, `conf` (N,), `cls` (N,) class indices."""

    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray

    @classmethod
    def empty(cls) -> Boxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))


def decode(output: np.ndarray, conf_floor: float) -> Boxes:
    """`output` (1, 4 + classes, anchors): centre x, centre y, width, height, then a score per
    class, in input pixels. A box is kept with its best class when that score is above
    `conf_floor`, then NMS (IoU > IOU_THRESHOLD suppresses) leaves at most MAX_DETECTIONS."""
    rows = output[0]
    scores = rows[4:]
    best = scores.max(axis=0)
    candidates = np.flatnonzero(best > conf_floor)
    if candidates.size == 0:
        return Boxes.empty()
    conf = best[candidates]
    cls = scores[:, candidates].argmax(axis=0).astype(np.float32)
    if candidates.size > MAX_CANDIDATES:
        top = np.argsort(-conf, kind="stable")[:MAX_CANDIDATES]
        candidates, conf, cls = candidates[top], conf[top], cls[top]
    cx, cy, w, h = rows[:4, candidates]
    xyxy = np.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), axis=1).astype(np.float32)
    offset = (cls * CLASS_OFFSET)[:, None]
    shifted = np.concatenate((xyxy[:, :2] + offset, w[:, None], h[:, None]), axis=1)
    kept = cv2.dnn.NMSBoxes(
        shifted.astype(np.float64).tolist(), conf.tolist(), conf_floor, IOU_THRESHOLD
    )
    keep = np.asarray(kept, dtype=np.int64).reshape(-1)[:MAX_DETECTIONS]
    return Boxes(xyxy[keep], conf[keep].astype(np.float32), cls[keep])
