"""What runs inside a camera's capture process: open the source with OpenCV, decode, and keep the
newest frame in a FrameSlot for the runner.

The process exists so that a decoder stuck in FFmpeg can be killed without harming anything else;
it loads the standard library, numpy and OpenCV only (no model, no database), so it starts in a
fraction of a second and stays small. It opens the source once: any failure is reported (Failed)
and ends the process, and the runner's Feed decides when to try again.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Lock
from typing import cast

import cv2

from worker.cameras.frame_slot import FrameSlot, Image

# A file's frame interval comes from its timestamps, unless they are missing or absurd (some
# headers lie about the frame rate; the last timestamp of some AVIs is 0).
MAX_FRAME_INTERVAL_S = 1.0
FALLBACK_FPS = 25.0


@dataclass(frozen=True)
class ChildSpec:
    url: str = field(repr=False)  # with its credentials
    is_file: bool
    # OPENCV_FFMPEG_CAPTURE_OPTIONS, built by the parent (it knows the protocol whitelist).
    ffmpeg_options: str
    open_timeout_s: float
    read_timeout_s: float
    # The shared memory the frames go to, made when the first frame is decoded.
    slot_name: str
    parent_pid: int


@dataclass(frozen=True)
class SlotReady:
    """The slot holds the first frame; what the source is."""

    slot: str
    width: int
    height: int
    fps: float
    codec: str


@dataclass(frozen=True)
class Failed:
    """The capture gave up; the process exits after sending this. Not redacted yet."""

    reason: str
    # The stream went quiet (a read timed out), rather than ending or failing to open.
    silent: bool = False


class CaptureFailed(Exception):
    def __init__(self, reason: str, *, silent: bool = False) -> None:
        super().__init__(reason)
        self.silent = silent


def run(spec: ChildSpec, lock: Lock, status: Connection, output: Connection) -> None:
    """The process's target."""
    # OpenCV and FFmpeg print to the standard streams, the URL with its password among it at
    # times: the parent reads this pipe and redacts each line before logging it.
    os.dup2(output.fileno(), 1)
    os.dup2(output.fileno(), 2)
    # Read by OpenCV at each open, so setting it here covers this process only.
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = spec.ffmpeg_options
    try:
        _capture(spec, lock, status)
    except CaptureFailed as failure:
        status.send(Failed(str(failure), failure.silent))
        sys.exit(1)


def _open(spec: ChildSpec) -> cv2.VideoCapture:
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, round(spec.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC, round(spec.read_timeout_s * 1000),
        # Frame threads each hold a frame back: one thread is ~70 ms fresher at 15 fps, and
        # decodes 1280x720 H.264 in ~3 ms.
        cv2.CAP_PROP_N_THREADS, 1,
    ]  # fmt: skip
    capture = cv2.VideoCapture(spec.url, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        raise CaptureFailed(
            "could not open the video file" if spec.is_file else "could not open the stream"
        )
    return capture


def fourcc_text(code: float) -> str:
    """OpenCV's CAP_PROP_FOURCC as text ("h264"), or "" when the backend reports none."""
    raw = int(code).to_bytes(4, "little", signed=False)
    return raw.decode("ascii", errors="replace").strip("\0 ").lower()


def frame_interval(previous_ms: float | None, position_ms: float, fps: float) -> float:
    """Seconds between two frames of a file, from their timestamps when those make sense."""
    if previous_ms is not None and 0 < position_ms - previous_ms <= MAX_FRAME_INTERVAL_S * 1000:
        return (position_ms - previous_ms) / 1000
    return 1 / fps if 0 < fps <= 240 else 1 / FALLBACK_FPS


class _Pacer:
    """Plays a file in real time: each frame is due one frame interval after the one before.
    Late frames are shown at once and the schedule restarts from them, so a slow moment never
    turns into a burst."""

    def __init__(self, fps: float) -> None:
        self._fps = fps
        self._due: float | None = None
        self._previous_ms: float | None = None

    def wait(self, position_ms: float) -> float:
        """Sleep until the frame is due; its capture time (Unix)."""
        now = time.monotonic()
        if self._due is None:
            self._due = now
        else:
            self._due = max(
                self._due + frame_interval(self._previous_ms, position_ms, self._fps), now
            )
            time.sleep(self._due - now)
        self._previous_ms = position_ms
        return time.time()

    def rewind(self) -> None:
        """The file starts again: the next timestamp is its first."""
        self._previous_ms = None


class _Publisher:
    """Puts each frame in the slot, which is made for the first one."""

    def __init__(
        self, spec: ChildSpec, lock: Lock, status: Connection, fps: float, codec: str
    ) -> None:
        self._name = spec.slot_name
        self._lock = lock
        self._status = status
        self._fps = fps
        self._codec = codec
        self._slot: FrameSlot | None = None

    def put(self, image: Image, index: int, captured_at: float) -> None:
        height, width = image.shape[:2]
        if self._slot is None:
            self._slot = FrameSlot.create(self._name, width, height, self._lock)
            self._slot.put(image, index, captured_at, time.monotonic())
            # Announced once it holds a frame: the parent never attaches an empty slot.
            self._status.send(SlotReady(self._name, width, height, self._fps, self._codec))
        elif image.shape != self._slot.shape:
            # OpenCV's FFmpeg reader ends the stream there itself (4.14); should a reader go
            # on, a new capture, with a slot of the new size, follows the change.
            raise CaptureFailed(f"the frame size changed to {width}x{height}")
        else:
            self._slot.put(image, index, captured_at, time.monotonic())


def _capture(spec: ChildSpec, lock: Lock, status: Connection) -> None:
    capture = _open(spec)
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    codec = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
    publisher = _Publisher(spec, lock, status, fps, codec)
    pacer = _Pacer(fps) if spec.is_file else None
    index = 0
    frames_this_pass = 0
    while True:
        if os.getppid() != spec.parent_pid:
            return  # the runner is gone: nobody reads the frames
        asked = time.monotonic()
        ok, image = capture.read()
        waited_s = time.monotonic() - asked
        if pacer is None:
            if waited_s >= spec.read_timeout_s:
                # Even when this read returns a frame: on a timeout OpenCV flushes the one
                # FFmpeg's parser held back, seconds old by now.
                raise CaptureFailed(f"the stream sent no frame for {waited_s:.0f} s", silent=True)
            if not ok:
                raise CaptureFailed("the stream ended")
            captured_at = time.time()
        elif ok:
            captured_at = pacer.wait(float(capture.get(cv2.CAP_PROP_POS_MSEC)))
        elif frames_this_pass == 0:
            raise CaptureFailed("the video file has no frame that can be decoded")
        else:
            # The end of the file: play it again (reopening is more reliable than seeking in
            # files with broken indexes).
            capture.release()
            capture = _open(spec)
            pacer.rewind()
            frames_this_pass = 0
            continue
        publisher.put(cast(Image, image), index, captured_at)
        index += 1
        frames_this_pass += 1
