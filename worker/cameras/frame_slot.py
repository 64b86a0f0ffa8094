"""The newest frame of one camera, in shared memory between its capture process and the runner.

One slot holds one BGR frame and a header (its index and capture times). The capture process
overwrites it with every frame it decodes, so nothing ever queues up however slowly the runner
reads; a lock (a POSIX semaphore, a full memory barrier on every CPU) keeps a reader from seeing
half of one frame and half of the next. The header can be read without the lock, to learn
cheaply whether a new frame is there. A slot has one frame size, that of the capture's first
frame. Imports the standard library and numpy only (the capture process loads this).
"""

from __future__ import annotations

import struct
from multiprocessing.shared_memory import SharedMemory
from multiprocessing.synchronize import Lock

import numpy as np
import numpy.typing as npt

# Index of the frame in the slot (-1: none yet), its capture time (Unix) and monotonic time.
HEADER = struct.Struct("=qdd")
# The pixels start on a cache line of their own.
PIXELS_OFFSET = 64
CHANNELS = 3

Image = npt.NDArray[np.uint8]


class FrameSlot:
    def __init__(self, memory: SharedMemory, width: int, height: int, lock: Lock) -> None:
        self.name = memory.name
        self.width = width
        self.height = height
        self._memory = memory
        assert memory.buf is not None
        self._buffer = memory.buf
        self._lock = lock
        self._pixels: Image | None = np.ndarray(
            (height, width, CHANNELS), np.uint8, buffer=self._buffer, offset=PIXELS_OFFSET
        )

    @classmethod
    def create(cls, name: str, width: int, height: int, lock: Lock) -> FrameSlot:
        memory = SharedMemory(name, create=True, size=PIXELS_OFFSET + width * height * CHANNELS)
        slot = cls(memory, width, height, lock)
        HEADER.pack_into(slot._buffer, 0, -1, 0.0, 0.0)
        return slot

    @classmethod
    def attach(cls, name: str, width: int, height: int, lock: Lock) -> FrameSlot:
        return cls(SharedMemory(name), width, height, lock)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, CHANNELS)

    def put(self, image: Image, index: int, captured_at: float, monotonic: float) -> None:
        assert self._pixels is not None
        with self._lock:
            np.copyto(self._pixels, image)
            HEADER.pack_into(self._buffer, 0, index, captured_at, monotonic)

    def header(self) -> tuple[int, float, float]:
        """(index, captured_at, monotonic) of the newest frame, without the lock: may be a frame
        behind, or mix two frames' fields, which is fine for counting and watchdogs."""
        index, captured_at, monotonic = HEADER.unpack_from(self._buffer, 0)
        return int(index), float(captured_at), float(monotonic)

    def take(self, after: int, wait_s: float) -> tuple[Image, int, float] | None:
        """A copy of the frame with its index and capture time, if its index is above `after`.
        Waits at most `wait_s` for the writer to finish a frame (None if it does not: a capture
        frozen mid-write is the watchdog's business)."""
        if self._pixels is None or self.header()[0] <= after:
            return None
        if not self._lock.acquire(timeout=wait_s):
            return None
        try:
            index, captured_at, _ = HEADER.unpack_from(self._buffer, 0)
            return self._pixels.copy(), int(index), float(captured_at)
        finally:
            self._lock.release()

    def close(self) -> None:
        # The array views the mapping: the mapping cannot be closed while it exists.
        self._pixels = None
        self._memory.close()

    def unlink(self) -> None:
        """Remove the name; the memory lives on until every process has closed it."""
        self._memory.unlink()
