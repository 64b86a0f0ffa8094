"""A camera's latest annotated frame, as its runner keeps it in Redis, and the viewers that ask
the runner for fresh ones (shared/cameras/events.py: `frame_key`, `viewers_key`).

The runner keeps one frame per camera (a one-entry stream). While the camera's viewer set holds
a live member it annotates every analysed frame; otherwise it refreshes the frame about every
2 s, so an unwatched camera costs little. A viewer is a member scored by the Unix time it stops
watching: a snapshot adds a short one so that the next poll gets a prompt frame, an MJPEG stream
keeps its own alive while it runs and removes it at the end."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

import anyio
import redis.asyncio as aioredis

from api.events.stream import read_entries
from shared.cameras.events import frame_key, viewers_key
from shared.db.enums import CameraDesiredState, CameraState
from shared.db.models import Camera
from shared.errors import AppError, ConflictError

logger = logging.getLogger(__name__)

# The runner refreshes even an unwatched camera's frame about every 2 s: a frame this old means
# it is not capturing (the camera is down, or its runner is).
STALE_AFTER_S = 10.0
# States in which the frame on hand is not the camera's picture of now.
DOWN_STATES = frozenset({CameraState.RECONNECTING, CameraState.OFFLINE, CameraState.ERROR})
# A snapshot watches this long: long enough for a client polling every few seconds to keep the
# runner annotating every frame, short enough that a one-off look stops costing soon after.
SNAPSHOT_VIEW_S = 5.0
# An MJPEG stream's member lapses this long after its last renewal (so a crashed API process
# stops the annotation soon), and is renewed every VIEWER_RENEW_S.
VIEWER_TTL_S = 10.0
VIEWER_RENEW_S = 3.0
# When the retry of a 409 or 503 is worth trying.
NO_FRAME_RETRY_S = 2
DOWN_RETRY_S = 5


class NoFrameYetError(ConflictError):
    code = "no_frame_yet"


class CameraInactiveError(ConflictError):
    code = "camera_inactive"


class CameraUnavailableError(AppError):
    status_code = 503
    code = "camera_unavailable"


@dataclass(frozen=True)
class Frame:
    entry_id: str
    jpeg: bytes
    captured_at: str | None
    frame_number: str | None
    width: str | None
    height: str | None

    @property
    def age_s(self) -> float:
        """Seconds since the runner stored it (its stream entry id holds the milliseconds)."""
        return time.time() - int(self.entry_id.split("-", 1)[0]) / 1000

    @property
    def headers(self) -> dict[str, str]:
        named = {
            "X-Captured-At": self.captured_at,
            "X-Frame-Number": self.frame_number,
            "X-Frame-Width": self.width,
            "X-Frame-Height": self.height,
        }
        return {name: value for name, value in named.items() if value}


def _text(fields: dict[bytes, bytes], name: str) -> str | None:
    value = fields.get(name.encode())
    return value.decode(errors="replace") if value is not None else None


def frame_of(entry_id: bytes, fields: dict[bytes, bytes]) -> Frame | None:
    jpeg = fields.get(b"jpeg")
    if not jpeg:
        return None
    return Frame(
        entry_id=entry_id.decode(),
        jpeg=jpeg,
        captured_at=_text(fields, "captured_at"),
        frame_number=_text(fields, "frame_number"),
        width=_text(fields, "width"),
        height=_text(fields, "height"),
    )


async def latest(redis: aioredis.Redis, camera_uuid: UUID) -> Frame | None:
    newest = read_entries(await redis.xrevrange(frame_key(camera_uuid), count=1))
    return frame_of(*newest[0]) if newest else None


def check_viewable(camera: Camera, frame: Frame | None) -> Frame:
    """`frame` if it shows the camera now: 409 for an inactive camera or one without any frame
    yet, 503 while the camera is down or its frame has stopped being refreshed."""
    if camera.desired_state == CameraDesiredState.INACTIVE:
        raise CameraInactiveError(
            f"camera {camera.camera_id} is inactive; set its status to active to watch it"
        )
    if frame is None:
        raise NoFrameYetError(
            f"camera {camera.camera_id} has no picture yet (it is {camera.state}); "
            f"retry in {NO_FRAME_RETRY_S} s",
            extra={"state": camera.state},
            headers={"Retry-After": str(NO_FRAME_RETRY_S)},
        )
    if camera.state in DOWN_STATES or frame.age_s > STALE_AFTER_S:
        raise CameraUnavailableError(
            f"camera {camera.camera_id} is {camera.state}: its last picture is "
            f"{frame.age_s:.0f} s old; retry in {DOWN_RETRY_S} s",
            extra={"state": camera.state, "captured_at": frame.captured_at},
            headers={"Retry-After": str(DOWN_RETRY_S)},
        )
    return frame


class Viewer:
    """One viewer of a camera in its viewer set. Redis trouble never stops a viewer from being
    served: the frame is then only refreshed at the runner's unwatched pace."""

    def __init__(self, redis: aioredis.Redis, camera_uuid: UUID) -> None:
        self.redis = redis
        self.key = viewers_key(camera_uuid)
        self.member = uuid.uuid4().hex
        self.renewed = 0.0

    async def watch(self, for_s: float) -> None:
        """Count as watching for the next `for_s` seconds."""
        self.renewed = time.monotonic()
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                # Lapsed members of viewers that never left (a crashed process) go too.
                pipe.zremrangebyscore(self.key, "-inf", now)
                pipe.zadd(self.key, {self.member: now + for_s})
                # The same on every call, so that no viewer shortens another's.
                pipe.expire(self.key, int(VIEWER_TTL_S) * 2)
                await pipe.execute()
        except (aioredis.RedisError, OSError) as exc:
            logger.warning("cannot register a camera viewer (%s); frames refresh slowly", exc)

    async def renew(self) -> None:
        if time.monotonic() - self.renewed >= VIEWER_RENEW_S:
            await self.watch(VIEWER_TTL_S)

    async def leave(self) -> None:
        # Shielded: on a client disconnect the stream is being cancelled, and the runner must
        # still learn that nobody watches.
        with anyio.CancelScope(shield=True):
            try:
                await self.redis.zrem(self.key, self.member)
            except (aioredis.RedisError, OSError):
                logger.warning("cannot remove a camera viewer; it lapses in %s s", VIEWER_TTL_S)
