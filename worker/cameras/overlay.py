"""What a camera's frames show, watched or not: the camera's latest analysis drawn on one of its
frames (boxes with labels, confidences and track ids, zones, lines with their `in` side), scaled
down to the camera's `live_max_height`, with a text band at the bottom-left: a header (camera
name, capture time, analysed fps) and the people, crowd and motion figures.

The band goes at the bottom because the top-left corner is where cameras print their own clock,
and where the stamped test camera encodes its capture time (pixel rows 0-31), which the live
view's latency tests read back from the frames received.

The analysis thread hands each result over as an `Analysis`, an immutable value it replaces
whole on the camera (LiveCamera.analysis), so the live frames thread reads a consistent one
without a lock."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from shared.params import JobParams, LineParams, ZoneParams
from worker.annotate import draw_frame, encode_jpeg
from worker.cameras.capture import Frame
from worker.cameras.snapshots import Snapshot
from worker.engine.outputs import FrameResult
from worker.engine.sinks import overlay_lines

if TYPE_CHECKING:
    from worker.cameras.camera import LiveCamera

# Measured at 640x352: about a millisecond to encode and 40-60 KiB a frame, which is what a
# watched camera costs Redis and the live process's decoder fifteen times a second.
JPEG_QUALITY = 80


@dataclass(frozen=True, slots=True)
class Analysis:
    """One analysed frame's result as its camera's frames show it."""

    detections: tuple[Mapping[str, Any], ...]
    # The people, crowd and motion figures.
    figures: tuple[str, ...]
    zones: tuple[ZoneParams, ...]
    lines: tuple[LineParams, ...]
    # The analysed frame's size: the boxes are in its pixels.
    width: int
    height: int

    @classmethod
    def of(cls, result: FrameResult, job: JobParams, width: int, height: int) -> Analysis:
        return cls(
            tuple(result.detections),
            tuple(overlay_lines(result.metrics)),
            tuple(job.zones),
            tuple(job.lines),
            width,
            height,
        )


def scaled(image: np.ndarray, max_height: int) -> np.ndarray:
    """The image at most `max_height` pixels high, its aspect kept, both sides even (H.264's
    4:2:0 sampling needs them so); never enlarged."""
    height, width = image.shape[:2]
    target = min(height, max_height) // 2 * 2
    if target == height and width % 2 == 0:
        return image
    new_width = max(2, 2 * round(width * target / height / 2))
    return cv2.resize(image, (new_width, max(2, target)), interpolation=cv2.INTER_AREA)


def clock_millis(moment: float) -> str:
    """`13:29:12.345`: a Unix time's UTC time of day, to the millisecond."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")[11:23]


def header(name: str, captured_at: float, analysed_fps: float) -> str:
    return f"{name} | {clock_millis(captured_at)} UTC | {analysed_fps:.1f} fps"


def render(image: np.ndarray, analysis: Analysis, title: str, max_height: int) -> np.ndarray:
    """A copy of `image` scaled to `max_height` with `analysis` drawn on it, and `title` over
    the figures in the band at the bottom-left."""
    out = scaled(image, max_height)
    height, width = out.shape[:2]
    detections: Sequence[Mapping[str, Any]] = analysis.detections
    if (width, height) != (analysis.width, analysis.height):
        # Scaled, or a frame of another size than the one analysed (a reconnected camera
        # whose resolution changed): the boxes follow the picture.
        factors = (width / analysis.width, height / analysis.height) * 2
        detections = [
            {**det, "bbox": [float(v) * f for v, f in zip(det["bbox"], factors, strict=True)]}
            for det in detections
        ]
    return draw_frame(
        out,
        detections,
        analysis.zones,
        analysis.lines,
        [title, *analysis.figures],
        overlay_at="bottom",
    )


def annotated_snapshot(camera: LiveCamera, frame: Frame, analysis: Analysis) -> Snapshot:
    """The camera's frame as the frame stream carries it: drawn, scaled and encoded."""
    title = header(
        camera.claimed.name or camera.claimed.camera_id,
        frame.captured_at,
        camera.analysed.rate(time.monotonic()),
    )
    image = render(frame.image, analysis, title, camera.params.live_max_height)
    height, width = image.shape[:2]
    return Snapshot(encode_jpeg(image, JPEG_QUALITY), frame.captured_at, frame.index, width, height)
