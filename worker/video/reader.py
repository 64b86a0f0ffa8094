"""Decode a video once, frame by frame, skipping frames without converting them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from worker.errors import MediaError
from worker.video.probe import DECODE_ERROR


def _check_count(index: int, max_decoded: int | None) -> None:
    if max_decoded is not None and index >= max_decoded:
        raise MediaError(f"the video holds more than {max_decoded} frames")


def read_frames(
    path: Path,
    frame_skip: int = 1,
    max_frames: int | None = None,
    *,
    max_pixels: int | None = None,
    max_decoded: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR frame) for every `frame_skip`-th frame, at most `max_frames`.
    Raises MediaError when not a single frame decodes, and when a frame is larger than
    `max_pixels` or the stream holds more than `max_decoded` frames: the probe checked the
    start of the stream, and a stream can change size or outrun its count part-way."""
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
                _check_count(index, max_decoded)
                index += 1
                continue
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            _check_count(index, max_decoded)
            height, width = frame.shape[:2]
            if max_pixels is not None and width * height > max_pixels:
                raise MediaError(
                    f"frame {index} is {width}x{height}; at most {max_pixels} pixels per frame "
                    "are accepted"
                )
            yield index, frame
            yielded += 1
            index += 1
        if index == 0:
            raise MediaError(DECODE_ERROR)
    finally:
        capture.release()
