"""What a video really holds. Headers lie (pedestrians_vtest.avi claims 682 frames, 341 decode),
so the frame count comes from counting packets with ffprobe, without decoding, when it is there."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2

from worker.errors import MediaError

logger = logging.getLogger(__name__)

DECODE_ERROR = "could not decode video"


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int | None
    header_frame_count: int | None
    duration_s: float | None
    codec: str | None
    frame_count_source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(value: str | None) -> float | None:
    try:
        ratio = float(Fraction(value)) if value else None
    except (ValueError, ZeroDivisionError):
        return None
    return ratio if ratio and ratio > 0 else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "N/A") else None
    except ValueError:
        return None


def _ffprobe(path: Path) -> dict[str, Any] | None:
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    command = [
        exe, "-v", "error", "-count_packets", "-select_streams", "v:0",
        "-show_entries",
        "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets,duration",
        "-of", "json", str(path),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        logger.warning("ffprobe timed out on %s", path)
        return None
    if done.returncode != 0:
        return None
    streams = json.loads(done.stdout or b"{}").get("streams") or []
    return streams[0] if streams else None


def probe_video(path: Path) -> VideoInfo:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise MediaError(DECODE_ERROR)
        cv_width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        cv_height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        cv_fps = capture.get(cv2.CAP_PROP_FPS)
        cv_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()

    stream = _ffprobe(path) or {}
    packets = _number(stream.get("nb_read_packets"))
    duration = _number(stream.get("duration"))
    header_count = _number(stream.get("nb_frames")) or (cv_count if cv_count > 0 else None)
    # Frames actually present over the stream's duration beats any rate the header states.
    fps = (
        (packets / duration if packets and duration else None)
        or _ratio(stream.get("avg_frame_rate"))
        or _ratio(stream.get("r_frame_rate"))
        or (cv_fps if cv_fps and cv_fps > 0 else None)
        or 25.0
    )
    frame_count = int(packets) if packets else (int(header_count) if header_count else None)
    return VideoInfo(
        width=int(stream.get("width") or cv_width),
        height=int(stream.get("height") or cv_height),
        fps=round(fps, 3),
        frame_count=frame_count,
        header_frame_count=int(header_count) if header_count else None,
        duration_s=duration or (frame_count / fps if frame_count else None),
        codec=stream.get("codec_name"),
        frame_count_source="packets" if packets else "header",
    )
