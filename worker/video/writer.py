"""Write annotated frames to an MP4 a browser can play: H.264 in yuv420p with the index up
front, encoded by an ffmpeg subprocess fed raw BGR frames on its stdin.

Without ffmpeg (or with an ffmpeg built without libx264) it falls back to OpenCV's MPEG-4
Part 2 ('mp4v') writer: the file opens in OpenCV, VLC and ffmpeg, but browsers will not play
it; `.codec` says which one was written.

The caller passes the output frame rate: with frame_skip N that is the source fps / N, since
only the analysed frames are written, in the order they were analysed."""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import cv2
import numpy as np

logger = logging.getLogger(__name__)

Codec = Literal["h264", "mp4v"]
STDERR_TAIL = 2000
CLOSE_TIMEOUT_S = 600.0


@functools.cache
def _has_libx264(ffmpeg: str) -> bool:
    try:
        done = subprocess.run(
            [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"libx264" in done.stdout


def _ffmpeg_with_x264() -> str | None:
    exe = shutil.which("ffmpeg")
    return exe if exe is not None and _has_libx264(exe) else None


class AnnotatedVideoWriter:
    """Context manager: `close()` on a clean exit, `abort()` when the block raises.

    Frames go to a `.part` file beside `path`, renamed over `path` only once the encoder has
    finished, so `path` never holds half a video."""

    def __init__(self, path: Path, fps: float, width: int, height: int) -> None:
        if fps <= 0 or width <= 0 or height <= 0:
            raise ValueError(f"bad video geometry: {width}x{height} at {fps} fps")
        self.path = path
        self.width = width
        self.height = height
        self._partial = path.with_name(f"{path.stem}.part{path.suffix}")
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._cv_writer: cv2.VideoWriter | None = None
        self._done = False

        ffmpeg = _ffmpeg_with_x264()
        self.codec: Codec = "h264" if ffmpeg else "mp4v"
        if ffmpeg is not None:
            self._start_ffmpeg(ffmpeg, fps)
        else:
            logger.warning("ffmpeg with libx264 not found: %s will not play in browsers", path)
            writer = cv2.VideoWriter(
                str(self._partial), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height)
            )
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV could not open a video writer for {path}")
            self._cv_writer = writer

    def _start_ffmpeg(self, ffmpeg: str, fps: float) -> None:
        # yuv420p halves the chroma resolution, so it needs even sides: pad odd ones by a pixel
        # rather than scale, which would blur the drawn boxes and text.
        pad = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] if self.width % 2 or self.height % 2 else []
        command = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{self.width}x{self.height}",
            "-r", f"{fps:.6g}", "-i", "-",
            "-an", *pad, "-c:v", "libx264", "-preset", "veryfast", "-crf", "26",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(self._partial),
        ]  # fmt: skip
        # A file, not a pipe: nobody reads stderr while frames are written, and a full pipe
        # would block ffmpeg, then our writes to its stdin.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as ffmpeg
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    def write(self, frame: np.ndarray) -> None:
        if self._done:
            raise RuntimeError("write() after close() or abort()")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame {frame.shape} {frame.dtype} is not {self.height}x{self.width} BGR uint8"
            )
        if self._cv_writer is not None:
            self._cv_writer.write(frame)
            return
        assert self._process is not None
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            code = self._process.wait()
            tail = self._tail()
            self.abort()
            raise RuntimeError(f"ffmpeg exited ({code}) while writing: {tail}") from None

    def close(self) -> None:
        """Finish the file and move it to `path`; raises RuntimeError (and leaves no file) if
        the encoder fails."""
        if self._done:
            return
        self._done = True
        if self._cv_writer is not None:
            self._cv_writer.release()
            self._partial.replace(self.path)
            return
        assert self._process is not None
        assert self._process.stdin is not None
        # A broken pipe means ffmpeg has already gone; its exit code says why.
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        try:
            code = self._process.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        if code != 0:
            tail = self._tail()
            self._partial.unlink(missing_ok=True)
            raise RuntimeError(f"ffmpeg exited ({code}): {tail}")
        self._close_stderr()
        self._partial.replace(self.path)

    def abort(self) -> None:
        """Stop encoding and delete what was written; safe to call at any point, repeatedly.
        A video already finished by `close()` is left in place."""
        self._done = True
        if self._cv_writer is not None:
            self._cv_writer.release()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            # Killed with frames still buffered, flushing them on close breaks the pipe.
            if self._process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    self._process.stdin.close()
        self._close_stderr()
        self._partial.unlink(missing_ok=True)

    def _tail(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        self._close_stderr()
        return text[-STDERR_TAIL:]

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
