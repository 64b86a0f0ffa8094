"""Fitting a frame into the model's input the way YOLO models were trained to see it: scaled to
fit, aspect kept, centred on grey padding. Boxes found in the padded input map back through the
same geometry. The rounding follows ultralytics' predictor, so that a box lands on the same
pixel whichever engine found it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# The grey YOLO models are trained to read as "no image here".
PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where a `source` (height, width) frame lies in an `input` (height, width) tensor."""

    source: tuple[int, int]
    input: tuple[int, int]
    resized: tuple[int, int]  # height, width of the scaled frame before padding
    top: int
    left: int

    @classmethod
    def fit(
        cls, source: tuple[int, int], size: tuple[int, int], *, stride: int | None = None
    ) -> Letterbox:
        """Into `size` (height, width); with `stride` (a model with a dynamic input shape) the
        padding shrinks to the smallest multiple of it, so a 16:9 frame costs a 16:9 tensor."""
        height, width = source
        scale = min(size[0] / height, size[1] / width)
        resized = (max(round(height * scale), 1), max(round(width * scale), 1))
        if stride is None:
            target = size
        else:
            target = (
                math.ceil(resized[0] / stride) * stride,
                math.ceil(resized[1] / stride) * stride,
            )
        pad_h, pad_w = (target[0] - resized[0]) / 2, (target[1] - resized[1]) / 2
        return cls(source, target, resized, round(pad_h - 0.1), round(pad_w - 0.1))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """The padded input, HWC uint8 BGR like `frame`."""
        image = frame
        if frame.shape[:2] != self.resized:
            image = cv2.resize(
                frame, (self.resized[1], self.resized[0]), interpolation=cv2.INTER_LINEAR
            )
        bottom = self.input[0] - self.resized[0] - self.top
        right = self.input[1] - self.resized[1] - self.left
        if self.top or bottom or self.left or right:
            image = cv2.copyMakeBorder(
                image,
                self.top,
                bottom,
                self.left,
                right,
                cv2.BORDER_CONSTANT,
                value=(PAD_VALUE, PAD_VALUE, PAD_VALUE),
            )
        return image

    def unscale(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in input pixels → source pixels, clipped to the frame. In place."""
        gain_y = self.resized[0] / self.source[0]
        gain_x = self.resized[1] / self.source[1]
        xyxy[:, [0, 2]] -= self.left
        xyxy[:, [1, 3]] -= self.top
        xyxy[:, [0, 2]] /= gain_x
        xyxy[:, [1, 3]] /= gain_y
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, self.source[1])
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, self.source[0])
        return xyxy
