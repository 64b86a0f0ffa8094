"""Frame differencing between consecutive analysed frames of one stream.

Each frame is compared with the stream's previous one at a fixed working width: the downscale
averages away sensor noise and keeps the cost independent of the video's resolution. Pixels
whose grey level changed by at least `pixel_threshold` are moving; the boxes are the outlines
of the moving regions, scaled back to the input frame's pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from shared.params import MotionParams
from worker.detectors.base import Detection

LABEL = "motion"

# Not lower: at 320 px the thin edges a slowly walking pedestrian leaves in a frame difference
# shrink below the opening kernel, and half the frames of tests/media's crowd video read as still.
WORKING_WIDTH = 640
BLUR_KERNEL = (5, 5)
# Opening drops isolated flickering pixels; dilation then joins the fragments of one moving
# body (frame differences light up its edges more than its inside) into one region.
OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
DILATE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))


@dataclass(frozen=True, slots=True)
class Difference:
    """One frame compared with the previous, at working size."""

    diff: np.ndarray  # absolute grey-level change
    moving: np.ndarray  # 1 where the change reaches the threshold, isolated pixels dropped
    regions: np.ndarray  # moving pixels dilated into bodies
    scale: float  # input pixels per working pixel

    def mean_change(self, window: tuple[slice, slice] = np.s_[:, :]) -> float:
        """Mean change of the window's moving pixels, as a share of the 0..255 range."""
        moving = self.moving[window].astype(bool)
        if not moving.any():
            return 0.0
        return min(1.0, float(self.diff[window][moving].mean()) / 255.0)

    def window(self, bbox: tuple[float, float, float, float]) -> tuple[slice, slice]:
        """The working-size slices of a box given in input pixels, clipped to the frame."""
        height, width = self.regions.shape
        x1, y1, x2, y2 = (value / self.scale for value in bbox)
        return (
            slice(int(np.clip(np.floor(y1), 0, height)), int(np.clip(np.ceil(y2), 0, height))),
            slice(int(np.clip(np.floor(x1), 0, width)), int(np.clip(np.ceil(x2), 0, width))),
        )


@dataclass(frozen=True, slots=True)
class FrameMotion:
    """One frame's motion. `metrics`: `motion_intensity`, the mean grey-level change of the
    moving pixels over 255; `affected_area_percentage`, their share of the frame; `moving`,
    whether that share reaches `min_area_percent` (and is not 0, so that a threshold of 0 still
    needs some change). A stream's first frame has nothing to compare with: no motion."""

    boxes: list[Detection]
    metrics: dict[str, Any]
    difference: Difference | None

    def moving_fraction(self, bbox: tuple[float, float, float, float]) -> float:
        """Share (0..1) of the box (x1, y1, x2, y2 in the frame's pixels) lying in a moving
        region."""
        if self.difference is None:
            return 0.0
        window = self.difference.regions[self.difference.window(bbox)]
        return float(window.mean()) if window.size else 0.0


_STILL: dict[str, Any] = {"motion_intensity": 0.0, "affected_area_percentage": 0.0, "moving": False}


class MotionSensor:
    """Compares each frame of one stream with the one before."""

    def __init__(self, params: MotionParams) -> None:
        self.params = params
        self._previous: np.ndarray | None = None

    def measure(self, frame: np.ndarray) -> FrameMotion:
        grey, scale = _prepare(frame)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            # Nothing to compare with (first frame, or a frame of another size).
            return FrameMotion([], dict(_STILL), None)
        diff = cv2.absdiff(grey, previous)
        changed = (diff >= self.params.pixel_threshold).astype(np.uint8)
        moving = cv2.morphologyEx(changed, cv2.MORPH_OPEN, OPEN_KERNEL)
        difference = Difference(diff, moving, cv2.dilate(moving, DILATE_KERNEL), scale)
        return FrameMotion(self._boxes(difference), self._metrics(difference), difference)

    def _metrics(self, difference: Difference) -> dict[str, Any]:
        area = 100.0 * float(np.count_nonzero(difference.moving)) / difference.moving.size
        return {
            "motion_intensity": difference.mean_change(),
            "affected_area_percentage": area,
            "moving": area > 0.0 and area >= self.params.min_area_percent,
        }

    def _boxes(self, difference: Difference) -> list[Detection]:
        """One box per moving region; confidence is the mean change of its moving pixels."""
        regions = difference.regions
        contours, _ = cv2.findContours(regions, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.params.min_box_area_percent / 100.0 * regions.size
        detections = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h < min_area:
                continue
            confidence = difference.mean_change(np.s_[y : y + h, x : x + w])
            x1, y1, x2, y2 = (value * difference.scale for value in (x, y, x + w, y + h))
            detections.append(Detection(LABEL, confidence, x1, y1, x2, y2, LABEL))
        return detections


def _prepare(frame: np.ndarray) -> tuple[np.ndarray, float]:
    """Grey, at most WORKING_WIDTH wide, blurred; and input pixels per working pixel."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height, width = grey.shape[:2]
    scale = max(1.0, width / WORKING_WIDTH)
    if scale > 1.0:
        size = (WORKING_WIDTH, max(1, round(height / scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(grey, BLUR_KERNEL, 0), scale
