"""Decode a video once, frame by frame, skipping frames without converting them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from worker.errors import MediaError
from worker.video.probe import DECODE_ERROR


def read_frames(
    path: Path, frame_skip: int = 1, max_frames: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR frame) for every `frame_skip`-th frame, at most `max_frames`.
    Raises MediaError when not a single frame decodes."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaError(DECODE_ERROR)
    try:
        index = 0
        yielded = 0
        while max_frames is None or yielded < max_frames:
            if index % frame_skip:
                if not capture.grab():
                    break
                index += 1
                continue
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            yield index, frame
            yielded += 1
            index += 1
        if index == 0:
            raise MediaError(DECODE_ERROR)
    finally:
        capture.release()
