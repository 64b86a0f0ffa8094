"""A camera's annotated frames as an MJPEG stream (`multipart/x-mixed-replace`), which an `<img>`
plays without any script: the fallback where WebRTC is not available.

The stream counts as a viewer for as long as it runs, so the runner annotates every analysed
frame meanwhile, and sends the newest frame at most `fps` times a second: XREAD BLOCK on the
camera's one-entry frame stream wakes it when a new frame is stored. It ends when the client
leaves, when the camera is deleted or made inactive, and when the credential it was opened with
stops authenticating (as the event streams do); it counts toward the per-user cap of open
streams."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import redis.asyncio as aioredis

from api.cameras.frames import Frame, Viewer, frame_of
from api.events.stream import CAMERA_CHECK_S, RETRY_S, block_ms, read_entries
from api.jobs.events import StreamCredential, StreamSlot
from shared.cameras.events import frame_key
from shared.db.models import Camera

logger = logging.getLogger(__name__)

BOUNDARY = "vigil-frame"
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
DEFAULT_FPS = 5.0
MAX_FPS = 10.0
# One frame every 5 s at least: slower, and a viewer would hardly see a live picture.
MIN_FPS = 0.2
# The longest the stream waits between two checks of its slot, credential and camera: however
# far off its next frame is, a signed-out or deleted stream ends within about this long after
# its check is due, and its slot is renewed well before it lapses.
MAX_WAIT_S = 1.0


def part(frame: Frame) -> bytes:
    headers = {"Content-Type": "image/jpeg", "Content-Length": str(len(frame.jpeg))}
    head = "".join(f"{name}: {value}\r\n" for name, value in (headers | frame.headers).items())
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + frame.jpeg + b"\r\n"


async def frames(
    redis: aioredis.Redis,
    camera: Camera,
    first: Frame,
    fps: float,
    viewer: Viewer,
    slot: StreamSlot,
    credential: StreamCredential,
    still_watchable: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """`first`, then each newer frame, no more than `fps` a second, until the camera stops
    being watchable or the credential ends. Leaves the viewer set and releases `slot` when it
    ends."""
    key = frame_key(camera.id)
    interval = 1.0 / fps
    try:
        yield part(first)
        position, sent, checked = first.entry_id, time.monotonic(), time.monotonic()
        while True:
            if await credential.revoked():
                return
            if time.monotonic() - checked >= CAMERA_CHECK_S:
                checked = time.monotonic()
                if not await still_watchable():
                    return
            await viewer.renew()
            await slot.renew()
            wait = sent + interval - time.monotonic()
            if wait > 0:
                # In steps with the checks above between them, never one long sleep.
                await anyio.sleep(min(wait, MAX_WAIT_S))
                continue
            try:
                reply = await redis.xread({key: position}, count=1, block=block_ms())
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("camera %s: cannot read frames (%s); retrying", camera.id, exc)
                await anyio.sleep(RETRY_S)
                continue
            for entry_id, fields in read_entries(reply):
                position = entry_id.decode()
                if (frame := frame_of(entry_id, fields)) is not None:
                    yield part(frame)
                    sent = time.monotonic()
    finally:
        await viewer.leave()
        await slot.release()
