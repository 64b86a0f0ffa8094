"""Detecting less where nothing moves. Surveillance footage is mostly a still picture: each
frame is compared with the last frame the detectors ran on, and while too little of it changed
the detectors are not run again; that frame's boxes carry over, so tracked objects stay where
they were. Comparing with the last *detected* frame, not the previous frame, means slow change
accumulates until it is seen, and a detection every `full_detection_s` confirms what stands
still. The comparison costs well under a millisecond at its working width; an inference costs
tens."""

from __future__ import annotations

import cv2
import numpy as np

from shared.params import MotionGateParams

# Wide enough that a distant walker still changes a few dozen working pixels.
WORKING_WIDTH = 320
BLUR_KERNEL = (5, 5)
# Drops the isolated pixels compression noise and sensor grain light up.
OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def _working(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = min(1.0, WORKING_WIDTH / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if scale < 1 else frame
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.GaussianBlur(grey, BLUR_KERNEL, 0)


class MotionGate:
    """One stream's gate: `decide` is asked once per frame, in order, whether the detectors
    must run on it."""

    def __init__(self, params: MotionGateParams) -> None:
        self.params = params
        self._reference: np.ndarray | None = None
        self._detected_at = 0.0
        self.detected = 0
        self.carried = 0

    def decide(self, timestamp: float, frame: np.ndarray) -> bool:
        working = _working(frame)
        if self._must_detect(timestamp, working):
            self._reference = working
            self._detected_at = timestamp
            self.detected += 1
            return True
        self.carried += 1
        return False

    def _must_detect(self, timestamp: float, working: np.ndarray) -> bool:
        reference = self._reference
        if reference is None or reference.shape != working.shape:
            return True
        if timestamp - self._detected_at >= self.params.full_detection_s:
            return True
        _, changed = cv2.threshold(
            cv2.absdiff(working, reference), self.params.pixel_threshold - 1, 255, cv2.THRESH_BINARY
        )
        changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, OPEN_KERNEL)
        share = 100.0 * cv2.countNonZero(changed) / changed.size
        return share >= self.params.min_area_percent and cv2.countNonZero(changed) > 0

    def summary(self) -> dict[str, int]:
        return {"frames_detected": self.detected, "frames_carried": self.carried}
