"""The latest annotated frame of each camera, for the live view (the `live` process) and the
API's snapshot and MJPEG views, on Vigil's own Redis (VIGIL_REDIS_URL, not the events Redis:
frames are for Vigil, events for consumers).

Keys (shared.cameras.events):
- `vigil:camera:{camera_uuid}:frame` (frame_key): a stream trimmed to one entry (`XADD … MAXLEN
  1`) whose fields are `jpeg` (the annotated frame, JPEG bytes), `captured_at` (that frame's
  capture time, ISO 8601 UTC with milliseconds), `frame_number` (its number in the camera's
  capture), `width` and `height` (the size of the JPEG). Read the newest with `XREVRANGE key + -
  COUNT 1`, or wait for the next with `XREAD BLOCK ms STREAMS key $`. It expires FRAME_TTL_S
  after its last write, so a stopped camera's frame does not linger.
- `vigil:camera:{camera_uuid}:viewers` (viewers_key): a sorted set the viewing side keeps, one
  member per viewer scored by the Unix time it stops watching (refreshed while it watches).

While the viewer set holds a member scored in the future (checked every VIEWERS_CHECK_S), the
camera is watched: the runner's live frames thread (live_frames.py) writes its newest captured
frame with the latest analysis drawn on it, `live_fps` (CameraParams) times a second. Otherwise
the analysis thread writes one analysed frame about every UNWATCHED_INTERVAL_S. Either way the
frame is drawn the same way (overlay.py): scaled down to `live_max_height`, never up, with the
header (camera name, capture time, analysed fps) and the figures in a band at the bottom-left.

A thread does the writing and the viewer checks, so a slow or absent Redis never holds up
analysis: a frame not yet written when a newer one comes is simply replaced."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from uuid import UUID

import redis

from shared.cameras.events import frame_key, iso_millis, viewers_key

logger = logging.getLogger(__name__)

UNWATCHED_INTERVAL_S = 2.0
# How long a new viewer may wait for live frames, at one Redis round trip per check.
VIEWERS_CHECK_S = 0.5
FRAME_TTL_S = 60


@dataclass(frozen=True, slots=True)
class Snapshot:
    jpeg: bytes
    captured_at: float
    frame_number: int
    width: int
    height: int


class SnapshotWriter(threading.Thread):
    def __init__(self, client: redis.Redis) -> None:
        super().__init__(name="snapshot-writer", daemon=True)
        self.client = client
        self._lock = threading.Condition()
        self._pending: dict[UUID, Snapshot] = {}
        self._cameras: set[UUID] = set()
        self._watched: frozenset[UUID] = frozenset()
        self._stopping = threading.Event()

    def watch(self, camera_uuid: UUID) -> None:
        with self._lock:
            self._cameras.add(camera_uuid)

    def forget(self, camera_uuid: UUID) -> None:
        with self._lock:
            self._cameras.discard(camera_uuid)
            self._pending.pop(camera_uuid, None)

    def watched(self, camera_uuid: UUID) -> bool:
        return camera_uuid in self._watched

    def offer(self, camera_uuid: UUID, snapshot: Snapshot) -> None:
        with self._lock:
            if camera_uuid in self._cameras:
                self._pending[camera_uuid] = snapshot
                self._lock.notify()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._lock.notify()
        self.join(5.0)

    def run(self) -> None:
        next_check = 0.0
        while not self._stopping.is_set():
            with self._lock:
                if not self._pending:
                    self._lock.wait(max(0.0, min(VIEWERS_CHECK_S, next_check - time.monotonic())))
                pending, self._pending = self._pending, {}
                cameras = list(self._cameras)
            try:
                if pending:
                    self._write(pending)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + VIEWERS_CHECK_S
                    self._watched = self._check_viewers(cameras)
            except (redis.RedisError, OSError) as exc:
                logger.warning("cannot write camera frames to Redis (%s)", type(exc).__name__)
                self._stopping.wait(VIEWERS_CHECK_S)

    def _write(self, pending: dict[UUID, Snapshot]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for camera_uuid, snapshot in pending.items():
                key = frame_key(camera_uuid)
                pipe.xadd(
                    key,
                    {
                        "jpeg": snapshot.jpeg,
                        "captured_at": iso_millis(snapshot.captured_at),
                        "frame_number": snapshot.frame_number,
                        "width": snapshot.width,
                        "height": snapshot.height,
                    },
                    maxlen=1,
                    approximate=False,
                )
                pipe.expire(key, FRAME_TTL_S)
            pipe.execute()

    def _check_viewers(self, cameras: list[UUID]) -> frozenset[UUID]:
        if not cameras:
            return frozenset()
        now = time.time()
        with self.client.pipeline(transaction=False) as pipe:
            for camera_uuid in cameras:
                pipe.zcount(viewers_key(camera_uuid), f"({now}", "+inf")
            counts = pipe.execute()
        return frozenset(c for c, n in zip(cameras, counts, strict=True) if int(n) > 0)
