"""A camera's capture: a child process that opens the source, decodes it and keeps only the newest
frame in shared memory (capture_child.py, frame_slot.py), and the runner's handle on it.

Why a process and not a thread: FFmpeg can hang inside a read whatever its timeouts say, and only
killing a process ends that at once (SIGKILL takes ~0.01 s); a crashing decoder takes one camera
down, not the runner; decoding does not share the runner's GIL. The child is spawned, never
forked, so it inherits none of the runner's sockets, threads or models.

Addresses: before the child starts, the spec's check (opening.source_check) resolves the camera's
host and holds its addresses to the address policy: at every capture, so at every reconnect,
because FFmpeg resolves the name again each time it connects. FFmpeg's own resolution comes a
moment after the check, so a name server that answers differently within that moment is not
caught. FFmpeg also follows RTSP redirects (3xx answers) to wherever they point, unchecked, with
no option to refuse them (libavformat's rtsp.c): a camera server can send its captures on.

Passwords: the child gets the URL with its credentials through a pipe (never its command line).
Whatever it prints (OpenCV and FFmpeg quote URLs in some messages) comes back through another
pipe and is redacted here before it is logged, as is every error it reports.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from multiprocessing.shared_memory import SharedMemory
from multiprocessing.synchronize import Lock
from typing import Literal

import numpy as np
import numpy.typing as npt

from shared.cameras.source import PROTOCOL_WHITELIST, redact
from shared.errors import UnprocessableError
from worker.cameras import capture_child
from worker.cameras.capture_child import ChildSpec, Failed, SlotReady
from worker.cameras.frame_slot import FrameSlot

logger = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
# How long latest() may wait for the child to finish writing a frame (a copy: well under 1 ms).
LOCK_WAIT_S = 0.05
# How long stop() waits for the last of the child's output once it is dead.
OUTPUT_DRAIN_S = 2.0
# An FFmpeg line printed this shortly before a failure explains it ("… 401 Unauthorized").
DETAIL_WINDOW_S = 2.0
# A line without a newline is logged once it gets this long.
MAX_LINE_BYTES = 8192
# FFmpeg's "[tcp @ 0x55d1c0…] message" and OpenCV's "[ WARN:0@0.013] message": the libraries'
# routine complaints, logged at DEBUG (the capture's error() sums them up). Anything else the
# child prints (a Python traceback) is a bug, logged as a warning.
_FFMPEG_LINE = re.compile(r"^\[[\w:.,-]+ @ (?:0x)?[0-9a-fA-F]+\] ")
_OPENCV_LINE = re.compile(r"^\[ ?[A-Z]+:\d")


@dataclass(frozen=True)
class CaptureSpec:
    # What to open: an rtsp(s) URL WITH its credentials, or a local file path.
    url: str = field(repr=False)
    is_file: bool
    transport: Literal["tcp", "udp"] = "tcp"
    open_timeout_s: float = 10.0
    read_timeout_s: float = 3.0
    # Redacted from every error and log line (the password and the user name).
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # Names the process and its log lines: the camera's id, say.
    label: str = "camera"
    # Run before the child starts (blocking: it may resolve the camera's host): it raises
    # UnprocessableError when the source may not, or cannot, be opened now; the capture then
    # ends with that error and no child.
    check: Callable[[], object] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CaptureInfo:
    width: int
    height: int
    # As the source declares it (a file's header may lie: Feed.fps_in is what arrives).
    fps: float
    # The codec's fourcc as text: "h264", "hevc", "mjpg"; "" when the source names none.
    codec: str

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, eq=False)
class Frame:
    image: npt.NDArray[np.uint8]  # BGR, the caller's own copy
    index: int  # frames decoded before this one since the capture started
    captured_at: float  # Unix time the frame was read (a file's: when it was due)


def ffmpeg_options(spec: CaptureSpec) -> str:
    """OPENCV_FFMPEG_CAPTURE_OPTIONS (`key;value|key;value`): low-delay RTSP over the chosen
    transport, with FFmpeg held to the protocols a camera needs, so that a URL cannot make it
    read local files or fetch over HTTP. Never anything a user typed."""
    if spec.is_file:
        return "protocol_whitelist;file"
    return "|".join(
        (
            f"rtsp_transport;{spec.transport}",
            "fflags;nobuffer",
            "flags;low_delay",
            f"protocol_whitelist;{PROTOCOL_WHITELIST}",
        )
    )


class Capture:
    """One capture process. start() once; latest() whenever; stop() always (or kill(), for a
    capture the watchdog gave up on, and stop() later to reap it)."""

    def __init__(self, spec: CaptureSpec) -> None:
        self.spec = spec
        self.pid: int | None = None
        self._process: SpawnProcess | None = None
        # Checks the source, starts the child, then reads what it says until it ends.
        self._thread: threading.Thread | None = None
        # Held to start the child and to end the capture: once ended, no child starts.
        self._lifecycle = threading.Lock()
        self._slot_name = f"vigil-capture-{uuid.uuid4().hex[:12]}"
        # Guards the slot, which the pump thread attaches, against readers.
        self._guard = threading.Lock()
        self._slot: FrameSlot | None = None
        self._info: CaptureInfo | None = None
        self._error: str | None = None
        self._silent = False
        self._detail: tuple[float, str] | None = None
        self._exitcode: int | None = None
        self._ended_by_us = False

    def start(self) -> None:
        """Returns at once: the check and the child's start happen in the capture's thread, so
        that a slow name server holds up no caller (the runner polls its feeds on its event
        loop)."""
        if self._thread is not None or self._ended_by_us:
            raise RuntimeError("a Capture starts once")
        self._thread = threading.Thread(
            target=self._run, name=f"capture {self.spec.label}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        refusal = self._refusal()
        if refusal is not None:
            self._error = refusal
            return
        with self._lifecycle:
            if self._ended_by_us:
                return
            pipes = self._spawn()
        self._pump(*pipes)

    def _refusal(self) -> str | None:
        """Why the spec's check refuses the source now (redacted), if it does."""
        if self.spec.check is None:
            return None
        try:
            self.spec.check()
        except UnprocessableError as exc:
            return redact(str(exc), self.spec.secrets)
        return None

    def _spawn(self) -> tuple[Lock, Connection, Connection]:
        """Starts the child; the lock of its slot and our ends of its pipes."""
        frame_lock = _SPAWN.Lock()
        status_read, status_write = _SPAWN.Pipe(duplex=False)
        output_read, output_write = _SPAWN.Pipe(duplex=False)
        child = ChildSpec(
            url=self.spec.url,
            is_file=self.spec.is_file,
            ffmpeg_options=ffmpeg_options(self.spec),
            open_timeout_s=self.spec.open_timeout_s,
            read_timeout_s=self.spec.read_timeout_s,
            slot_name=self._slot_name,
            parent_pid=os.getpid(),
        )
        process = _SPAWN.Process(
            target=capture_child.run,
            args=(child, frame_lock, status_write, output_write),
            name=f"capture {self.spec.label}",
            daemon=True,
        )
        process.start()
        # The child has its own copies: with ours closed, the pipes end when the child does.
        status_write.close()
        output_write.close()
        self._process = process
        self.pid = process.pid
        return frame_lock, status_read, output_read

    def latest(self, after: int = -1) -> Frame | None:
        """The newest frame if its index is above `after`; never waits for one."""
        with self._guard:
            if self._slot is None:
                return None
            taken = self._slot.take(after, LOCK_WAIT_S)
        if taken is None:
            return None
        image, index, captured_at = taken
        return Frame(image, index, captured_at)

    @property
    def info(self) -> CaptureInfo | None:
        """Set with the first frame."""
        return self._info

    @property
    def frames(self) -> int:
        """Frames decoded so far."""
        with self._guard:
            return 0 if self._slot is None else self._slot.header()[0] + 1

    @property
    def last_frame_at(self) -> float | None:
        """Monotonic time of the newest frame."""
        with self._guard:
            return None if self._slot is None else self._slot.header()[2]

    def error(self) -> str | None:
        """Why the capture gave up (redacted); None while it runs, or when stopped."""
        if self._error is not None or self._ended_by_us or self.alive():
            return self._error
        process = self._process
        code = process.exitcode if process is not None else self._exitcode
        return None if code is None else f"the capture process ended (exit code {code})"

    @property
    def silent(self) -> bool:
        """The capture gave up because the source went quiet (a read timed out), rather than
        because it ended or could not be opened."""
        return self._silent

    def alive(self) -> bool:
        """The source is being checked, the child runs, or what it said last is still being
        read."""
        thread, process = self._thread, self._process
        return (thread is not None and thread.is_alive()) or (
            process is not None and process.is_alive()
        )

    def kill(self) -> None:
        """SIGKILL now, without waiting; stop() reaps the process later."""
        with self._lifecycle:
            self._ended_by_us = True
            process = self._process
        if process is not None and process.exitcode is None:
            process.kill()

    def stop(self, grace_s: float = 1.0) -> None:
        """SIGTERM, SIGKILL after `grace_s`; always reaps the process and frees the memory. A
        capture still checking its source starts no child."""
        with self._lifecycle:
            self._ended_by_us = True
            process = self._process
            thread, self._thread = self._thread, None
        if process is None:
            return
        if process.exitcode is None:
            process.terminate()
            process.join(grace_s)
        if process.exitcode is None:
            process.kill()
            process.join()
        self._exitcode = process.exitcode
        process.close()
        self._process = None
        if thread is not None:
            thread.join(OUTPUT_DRAIN_S)
        with self._guard:
            if self._slot is not None:
                self._slot.close()
                self._slot = None
        self._remove_unannounced_slot()

    def _pump(self, frame_lock: Lock, status: Connection, output: Connection) -> None:
        """Reads the child's messages and output until it ends (in the capture's thread, so
        that a child printing a lot never blocks on a full pipe)."""
        pending = b""
        readers: list[Connection] = [output, status]
        while readers:
            ready = wait(readers)
            # The output first: a line printed before a message explains it.
            if output in ready:
                chunk = os.read(output.fileno(), 65536)
                pending = self._log_output(pending + (chunk or b"\n"))
                if not chunk:
                    readers.remove(output)
                    output.close()
            if status in ready:
                try:
                    message = status.recv()
                except EOFError:
                    readers.remove(status)
                    status.close()
                else:
                    self._on_message(message, frame_lock)

    def _log_output(self, data: bytes) -> bytes:
        *lines, rest = data.split(b"\n")
        if len(rest) > MAX_LINE_BYTES:
            lines.append(rest)
            rest = b""
        for raw in lines:
            line = redact(raw.decode(errors="replace").strip(), self.spec.secrets)
            if not line:
                continue
            ffmpeg = _FFMPEG_LINE.match(line)
            if ffmpeg is not None:
                self._detail = (time.monotonic(), line[ffmpeg.end() :])
            routine = ffmpeg is not None or _OPENCV_LINE.match(line) is not None
            level = logging.DEBUG if routine else logging.WARNING
            logger.log(level, "capture %s: %s", self.spec.label, line)
        return rest

    def _on_message(self, message: object, frame_lock: Lock) -> None:
        if isinstance(message, Failed):
            reason = message.reason
            if self._detail is not None and time.monotonic() - self._detail[0] <= DETAIL_WINDOW_S:
                reason = f"{reason}: {self._detail[1]}"
            self._error = redact(reason, self.spec.secrets)
            self._silent = message.silent
        elif isinstance(message, SlotReady):
            self._attach(message, frame_lock)

    def _attach(self, ready: SlotReady, frame_lock: Lock) -> None:
        slot = FrameSlot.attach(ready.slot, ready.width, ready.height, frame_lock)
        # Both processes have it mapped: without its name, it vanishes with the last of them,
        # so a killed capture leaves nothing behind in /dev/shm.
        slot.unlink()
        with self._guard:
            self._slot = slot
            self._info = CaptureInfo(ready.width, ready.height, ready.fps, ready.codec)

    def _remove_unannounced_slot(self) -> None:
        """A child killed between making its slot and announcing it leaves the name behind."""
        if self._info is not None:
            return
        try:
            orphan = SharedMemory(self._slot_name)
        except FileNotFoundError:
            return
        orphan.close()
        orphan.unlink()
