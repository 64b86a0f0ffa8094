"""What a video really holds. Headers lie (pedestrians_vtest.avi claims 682 frames, 341 decode),
so the frame count comes from counting packets with ffprobe, without decoding, when it is there.
So do containers about the stream's size and codec: ffprobe reads them from the stream itself,
which is what the decoder will see."""

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

from shared.media import VideoFacts, codec_for_tag, video_limit_problem
from shared.settings import get_settings
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
    """The first video stream as ffprobe reads it (packets counted, nothing decoded), or None
    where ffprobe is not installed. MediaError when it cannot read one in time."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    command = [
        exe, "-v", "error", "-count_packets", "-select_streams", "v:0",
        "-show_entries",
        "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,nb_read_packets,duration",
        "-of", "json", str(path),
    ]  # fmt: skip
    timeout = get_settings().video_probe_timeout_s
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        logger.warning("ffprobe timed out on %s", path)
        raise MediaError(f"{DECODE_ERROR}: inspecting it took longer than {timeout:g} s") from exc
    try:
        streams = json.loads(done.stdout or b"{}").get("streams") or []
    except json.JSONDecodeError:
        streams = []
    if done.returncode != 0 or not streams:
        raise MediaError(DECODE_ERROR)
    stream: dict[str, Any] = streams[0]
    return stream


def _from_stream(stream: dict[str, Any]) -> VideoInfo:
    packets = _number(stream.get("nb_read_packets"))
    duration = _number(stream.get("duration"))
    header_count = _number(stream.get("nb_frames"))
    # Frames actually present over the stream's duration beats any rate the header states.
    fps = (
        (packets / duration if packets and duration else None)
        or _ratio(stream.get("avg_frame_rate"))
        or _ratio(stream.get("r_frame_rate"))
        or 25.0
    )
    frame_count = int(packets) if packets else (int(header_count) if header_count else None)
    return VideoInfo(
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        fps=round(fps, 3),
        frame_count=frame_count,
        header_frame_count=int(header_count) if header_count else None,
        duration_s=duration or (frame_count / fps if frame_count else None),
        codec=stream.get("codec_name"),
        frame_count_source="packets" if packets else "header",
    )


def _from_opencv(path: Path) -> VideoInfo:
    """What OpenCV's headers say, where ffprobe is missing."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise MediaError(DECODE_ERROR)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
    finally:
        capture.release()
    fps = fps if fps and fps > 0 else 25.0
    frame_count = count if count > 0 else None
    return VideoInfo(
        width=width,
        height=height,
        fps=round(fps, 3),
        frame_count=frame_count,
        header_frame_count=frame_count,
        duration_s=frame_count / fps if frame_count else None,
        codec=codec_for_tag(fourcc),
        frame_count_source="header",
    )


def probe_video(path: Path) -> VideoInfo:
    """The video's facts, from ffprobe (a process of its own, bounded in time) before
    anything in this process opens the file: the limits are checked on them first."""
    stream = _ffprobe(path)
    return _from_stream(stream) if stream is not None else _from_opencv(path)


def check_limits(info: VideoInfo, frame_skip: int = 1, max_frames: int | None = None) -> None:
    """MediaError, before any frame is decoded, when the video is beyond the server's limits."""
    facts = VideoFacts(
        width=info.width,
        height=info.height,
        codecs=(info.codec,) if info.codec else (),
        frame_count=info.frame_count,
        duration_s=info.duration_s,
    )
    problem = video_limit_problem(facts, frame_skip, max_frames)
    if problem:
        raise MediaError(f"the video is beyond this server's limits: {problem}")
