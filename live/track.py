"""A session's video track: the camera's newest frame, at most `live_fps` a second.

aiortc's sender awaits `recv()`, encodes what it returns in a thread and sends it, then asks
again. `recv()` never blocks the event loop and never queues: it returns the newest frame the
feed has, and only one newer than the last it returned, so latency cannot build up behind a slow
encoder or network (aiortc issue #1192, where a delay grew to 30 s). Frames are paced on a grid
of 1/live_fps: a frame may go out early after a late one, never more than live_fps on average.
When the feed has had no new frame for STALE_AFTER_S, the track sends the placeholder
("offline since …") once a second until frames come again.

Each session sends its own copy of the camera's shared frame (0.1 ms at 720p): aiortc's VP8
encoder marks the frame it encodes as an I picture when its viewer asks for a keyframe, which on
the shared frame would force a keyframe on every other session encoding it."""

from __future__ import annotations

import asyncio
import math
import time

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import VideoFrame

from live.feeds import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE, CameraFeed, LiveFrame
from live.placeholder import DEFAULT_SIZE, offline_text, render

STALE_AFTER_S = 3.0
PLACEHOLDER_INTERVAL_S = 1.0


class CameraTrack(MediaStreamTrack):
    kind = "video"

    def __init__(
        self, feed: CameraFeed, fps: float, title: str | None, last_frame_at: str | None = None
    ) -> None:
        super().__init__()
        self.feed = feed
        self.period = 1.0 / fps
        self.title = title
        # When the camera last had a frame, as the API knew it: what "offline since" says while
        # this process has seen no frame (the camera's frame lapses from Redis 60 s after the
        # last one).
        self.last_frame_at = last_frame_at
        self.started = time.monotonic()
        self.frames_sent = 0
        self.placeholders_sent = 0
        self.first_frame_at: float | None = None
        self._due: float | None = None
        self._last_seq = 0
        self._last_placeholder = -math.inf

    async def recv(self) -> VideoFrame:
        if self._due is not None:
            wait = self._due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            now = time.monotonic()
            latest = self.feed.latest
            stale_at = (latest.fresh_at if latest is not None else self.started) + STALE_AFTER_S
            if latest is not None and latest.seq > self._last_seq and now < stale_at:
                self._last_seq = latest.seq
                return self._sent(_copy(latest.frame), now)
            if now >= stale_at:
                due = self._last_placeholder + PLACEHOLDER_INTERVAL_S
                if now >= due:
                    self._last_placeholder = now
                    self.placeholders_sent += 1
                    return self._sent(self._placeholder(latest, now), now)
                wake = due
            else:
                wake = stale_at
            await self.feed.wait_newer(self._last_seq, wake - now)

    def _sent(self, frame: VideoFrame, now: float) -> VideoFrame:
        self.frames_sent += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        # On the grid after the previous slot; after a long wait, no sooner than half a period.
        self._due = max((self._due or now) + self.period, now + self.period / 2)
        return frame

    def offline_since(self, latest: LiveFrame | None) -> str | None:
        """The capture time of the camera's last frame: the newest this process saw, else the
        one the API passed along."""
        if latest is not None and latest.captured_at:
            return latest.captured_at
        return self.last_frame_at

    def _placeholder(self, latest: LiveFrame | None, now: float) -> VideoFrame:
        size = (latest.frame.width, latest.frame.height) if latest is not None else DEFAULT_SIZE
        text = offline_text(self.offline_since(latest))
        picture = VideoFrame.from_image(render(text, self.title, size))  # type: ignore[no-untyped-call]
        frame: VideoFrame = picture.reformat(format="yuv420p")
        frame.pts = int(now * VIDEO_CLOCK_RATE)
        frame.time_base = VIDEO_TIME_BASE
        return frame


def _copy(shared: VideoFrame) -> VideoFrame:
    """The session's own copy of the camera's shared frame: same pixels, colour range,
    timestamp and picture type."""
    frame = VideoFrame(shared.width, shared.height, shared.format.name)
    for source, target in zip(shared.planes, frame.planes, strict=True):
        target.update(bytes(source))
    frame.color_range = shared.color_range
    frame.colorspace = shared.colorspace
    frame.pts = shared.pts
    if shared.time_base is not None:
        frame.time_base = shared.time_base
    frame.pict_type = shared.pict_type
    return frame
