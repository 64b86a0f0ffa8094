"""One reader per camera per live process: it follows the camera's one-entry frame stream
(shared.cameras.events.frame_key), decodes each JPEG once and keeps the newest frame for every
session watching that camera.

It starts from the newest entry (XREVRANGE), so that a new session has a picture at once, then
waits for the next ones with XREAD BLOCK. The stream holds one entry (MAXLEN 1): a reader that
falls behind finds only the newest frame, never a backlog. Decoding (PyAV's mjpeg decoder, no
OpenCV) runs in a thread, off the event loop; its output is converted once to yuv420p (video
range), what the encoders take, so that no session's encoder repeats the conversion."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import av
import redis.asyncio as aioredis
from av.video.frame import PictureType, VideoFrame

from shared.cameras.events import frame_key

logger = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)
BLOCK_MS = 1000
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """A decoded frame. `frame` is shared by every session of the camera: each sends a copy of
    it (live/track.py), since an encoder changes the frame it encodes."""

    seq: int
    frame: VideoFrame
    captured_at: str | None
    # When the runner wrote it, on this process's monotonic clock.
    fresh_at: float


class JpegDecoder:
    def __init__(self) -> None:
        self.codec = av.CodecContext.create("mjpeg", "r")
        # One thread: frame threading would hold each frame back for the next.
        self.codec.thread_count = 1

    def decode(self, jpeg: bytes) -> VideoFrame | None:
        try:
            frames = self.codec.decode(av.Packet(jpeg))
        except av.error.FFmpegError as exc:
            logger.warning("cannot decode a camera frame (%s)", exc)
            return None
        if not frames:
            return None
        decoded = frames[-1]
        assert isinstance(decoded, VideoFrame)
        frame = decoded.reformat(format="yuv420p", dst_color_range="MPEG")
        # A decoded JPEG is an intra picture, and encoders take an I picture as an order to
        # emit a keyframe: every frame would be one.
        frame.pict_type = PictureType.NONE
        return frame


def entries_of(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The entries of an XREVRANGE reply (`[entry, ...]`) or an XREAD one (`[[stream,
    [entry, ...]], ...]`)."""
    if not reply:
        return []
    if isinstance(reply[0][1], list):
        return [entry for _, entries in reply for entry in entries]
    return list(reply)


def _text(fields: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = fields.get(name)
    return value.decode(errors="replace") if value is not None else None


@dataclass
class CameraFeed:
    redis: aioredis.Redis
    camera_uuid: str
    latest: LiveFrame | None = None
    subscribers: int = 0
    _seq: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False
    _decoder: JpegDecoder = field(default_factory=JpegDecoder)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"feed-{self.camera_uuid}")

    async def stop(self) -> None:
        # The reader stops at its next turn too: redis-py sometimes swallows the cancellation
        # of a blocking read that has just timed out, and the reader would read on.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def wait_newer(self, seq: int, timeout_s: float) -> None:
        """Until a frame newer than `seq` is here, or `timeout_s` has passed."""
        if (self.latest is not None and self.latest.seq > seq) or timeout_s <= 0:
            return
        arrived = self._arrived
        try:
            await asyncio.wait_for(arrived.wait(), timeout_s)
        except TimeoutError:
            return

    async def _run(self) -> None:
        key = frame_key(self.camera_uuid)
        # XREAD from "0-0" on a missing stream waits for its first entry.
        position = "0-0"
        initial = True
        while not self._stopping:
            try:
                if initial:
                    reply: Any = await self.redis.xrevrange(key, count=1)
                else:
                    reply = await self.redis.xread({key: position}, count=1, block=BLOCK_MS)
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("camera %s: cannot read frames (%s)", self.camera_uuid, exc)
                await asyncio.sleep(RETRY_S)
                continue
            entries = entries_of(reply)
            if entries:
                entry_id, fields = entries[-1]
                position = entry_id.decode()
                await self._take(position, fields, initial)
            initial = False

    async def _take(self, entry_id: str, fields: Mapping[bytes, bytes], initial: bool) -> None:
        jpeg = fields.get(b"jpeg")
        if not jpeg:
            return
        frame = await asyncio.to_thread(self._decoder.decode, jpeg)
        if frame is None:
            return
        now = time.monotonic()
        # The first frame may have been written a while ago: its entry id holds when (ms).
        age_s = max(0.0, time.time() - int(entry_id.split("-", 1)[0]) / 1000) if initial else 0.0
        fresh_at = now - age_s
        frame.pts = int(fresh_at * VIDEO_CLOCK_RATE)
        frame.time_base = VIDEO_TIME_BASE
        self._seq += 1
        self.latest = LiveFrame(self._seq, frame, _text(fields, b"captured_at"), fresh_at)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()


class FeedHub:
    """The process's feeds by camera: started by a camera's first session, stopped after its
    last."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.feeds: dict[str, CameraFeed] = {}

    def acquire(self, camera_uuid: str) -> CameraFeed:
        feed = self.feeds.get(camera_uuid)
        if feed is None:
            feed = self.feeds[camera_uuid] = CameraFeed(self.redis, camera_uuid)
            feed.start()
        feed.subscribers += 1
        return feed

    async def release(self, feed: CameraFeed) -> None:
        feed.subscribers -= 1
        if feed.subscribers <= 0 and self.feeds.get(feed.camera_uuid) is feed:
            del self.feeds[feed.camera_uuid]
            await feed.stop()

    async def close(self) -> None:
        feeds, self.feeds = list(self.feeds.values()), {}
        await asyncio.gather(*(feed.stop() for feed in feeds))
