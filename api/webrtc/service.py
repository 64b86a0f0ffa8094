"""Live view sessions as the API runs them: check the offer and the camera, reserve a place
under the caps, hand the offer to a live service and answer with its answer; list, read and
close the caller's sessions. The peers themselves live in the live service (`python -m live`),
which the API never imports."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from uuid import UUID

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.cameras.frames import CameraInactiveError
from api.webrtc import signaling
from api.webrtc.schemas import AnswerRead, IceServerRead, SessionRead, WebrtcConfig
from shared.cameras.events import iso_millis
from shared.cameras.params import CameraParams
from shared.db.enums import CameraDesiredState
from shared.db.models import Camera, User
from shared.errors import (
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnprocessableError,
)
from shared.live.ice import ice_servers
from shared.live.protocol import (
    OVER_USER_CAP,
    RESERVED,
    SESSION_TTL_S,
    OfferFailure,
    OfferRequest,
    SessionRecord,
    new_reply_key,
)
from shared.live.sdp import OfferProblem, check_offer
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)

CODECS = ["VP8", "H264"]
# When to try again after a 503: a live service that restarts is back within seconds.
LIVE_RETRY_S = 5
DEFAULT_LIVE_FPS: float = CameraParams.model_fields["live_fps"].default
DEFAULT_LIVE_MAX_HEIGHT: int = CameraParams.model_fields["live_max_height"].default


class LiveUnavailableError(ServiceUnavailableError):
    code = "live_unavailable"


class LiveFullError(ServiceUnavailableError):
    code = "live_full"


class TooManySessionsError(RateLimitedError):
    code = "too_many_sessions"


class InvalidOfferError(UnprocessableError):
    code = "invalid_offer"


class SessionNotFoundError(NotFoundError):
    code = "session_not_found"


def invalid_field(field: str, message: str, code: type[UnprocessableError]) -> UnprocessableError:
    return code(f"{field}: {message}", extra={"fields": [{"field": field, "message": message}]})


def checked_offer(sdp: str, kind: str) -> None:
    try:
        check_offer(sdp, kind)
    except OfferProblem as problem:
        raise invalid_field(problem.field, problem.message, InvalidOfferError) from None


def _unavailable(detail: str) -> LiveUnavailableError:
    return LiveUnavailableError(detail, headers={"Retry-After": str(LIVE_RETRY_S)})


async def _reserve(redis: aioredis.Redis, user: User, session_id: str, settings: Settings) -> None:
    until = time.time() + settings.webrtc_offer_timeout_s + SESSION_TTL_S
    per_user, total = settings.webrtc_max_sessions_per_user, settings.webrtc_max_sessions
    outcome, retry_after = await signaling.reserve(
        redis, user.id, session_id, until, per_user, total
    )
    if outcome == OVER_USER_CAP:
        raise TooManySessionsError(
            f"you have {per_user} live view sessions open, the most allowed; close one "
            f"(DELETE /api/v1/webrtc/sessions/{{session_id}}) or retry in {retry_after} s",
            limit=per_user,
            retry_after=retry_after,
        )
    if outcome != RESERVED:
        raise LiveFullError(
            f"the live view is at its limit of {total} sessions; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def _failure(reply: OfferFailure) -> Exception:
    if reply.status == 422:
        return invalid_field("sdp", reply.detail, InvalidOfferError)
    return _unavailable(reply.detail)


async def open_session(
    redis: aioredis.Redis,
    user: User,
    camera: Camera,
    sdp: str,
    kind: str,
    api_key_id: UUID | None = None,
) -> AnswerRead:
    """The live service's answer to the caller's offer to watch `camera`, made with the API key
    `api_key_id` (None: a bearer token)."""
    checked_offer(sdp, kind)
    if camera.desired_state == CameraDesiredState.INACTIVE:
        raise CameraInactiveError(
            f"camera {camera.camera_id} is inactive; set its status to active to watch it"
        )
    settings = get_settings()
    if not await signaling.live_available(redis):
        raise _unavailable(f"the live view service is not running; retry in {LIVE_RETRY_S} s")
    session_id = str(uuid.uuid4())
    await _reserve(redis, user, session_id, settings)
    answered = False
    try:
        request = OfferRequest(
            session_id=session_id,
            owner_id=str(user.id),
            camera_uuid=str(camera.id),
            camera_id=camera.camera_id,
            camera_name=camera.name,
            sdp=sdp,
            live_fps=float(camera.params.get("live_fps", DEFAULT_LIVE_FPS)),
            last_frame_at=iso_millis(camera.last_frame_at) if camera.last_frame_at else None,
            api_key_id=str(api_key_id) if api_key_id is not None else None,
            reply_to=new_reply_key(),
            deadline=time.time() + settings.webrtc_offer_timeout_s,
        )
        reply = await signaling.exchange(redis, request, settings.webrtc_offer_timeout_s)
        if reply is None:
            raise _unavailable(
                f"the live view service did not answer within "
                f"{settings.webrtc_offer_timeout_s:g} s; retry in {LIVE_RETRY_S} s"
            )
        if isinstance(reply, OfferFailure):
            raise _failure(reply)
        answered = True
        return AnswerRead(sdp=reply.sdp, session_id=session_id)
    finally:
        if not answered:
            await signaling.release(redis, user.id, session_id)


async def sessions_of(redis: aioredis.Redis, user: User) -> list[SessionRecord]:
    """The caller's open sessions, oldest first."""
    found = await signaling.records(redis, await signaling.session_ids(redis, user.id))
    return sorted(
        (record for record in found if record.owner_id == str(user.id)),
        key=lambda record: record.created_at,
    )


async def end_sessions(
    redis: aioredis.Redis, owner_id: UUID, which: Callable[[SessionRecord], bool]
) -> int:
    """Close the owner's live view sessions that `which` picks; how many."""
    found = await signaling.records(redis, await signaling.session_ids(redis, owner_id))
    ending = [record for record in found if record.owner_id == str(owner_id) and which(record)]
    await asyncio.gather(*(signaling.close(redis, record) for record in ending))
    return len(ending)


async def end_camera_sessions(redis: aioredis.Redis, owner_id: UUID, camera_uuid: UUID) -> int:
    """Close every live view session of a camera that was deleted or made inactive; how many."""
    return await end_sessions(
        redis, owner_id, lambda record: record.camera_uuid == str(camera_uuid)
    )


def opened_with_a_bearer_token(record: SessionRecord) -> bool:
    return record.api_key_id is None


def opened_with_keys(key_ids: Collection[UUID]) -> Callable[[SessionRecord], bool]:
    keys = {str(key_id) for key_id in key_ids}
    return lambda record: record.api_key_id in keys


def every_session(_: SessionRecord) -> bool:
    return True


async def end_sessions_of_credentials(
    redis: aioredis.Redis, owner_id: UUID, which: Callable[[SessionRecord], bool], why: str
) -> None:
    """Close the owner's sessions opened with credentials that just stopped working (signed out
    everywhere, password changed, account disabled, API key revoked): a peer would otherwise
    play on until VIGIL_WEBRTC_MAX_SESSION_S. Redis trouble leaves them to that end rather
    than fail the revocation, which has been made."""
    try:
        ended = await end_sessions(redis, owner_id, which)
    except (RedisError, OSError) as exc:
        logger.warning("user %s: cannot close live view sessions (%s): %s", owner_id, why, exc)
        return
    if ended:
        logger.info("user %s: closed %d live view sessions (%s)", owner_id, ended, why)


async def active_count(redis: aioredis.Redis, user: User) -> int:
    return len(await sessions_of(redis, user))


async def owned_session(redis: aioredis.Redis, user: User, session_id: str) -> SessionRecord:
    """The caller's session; 404 alike for a missing one and someone else's."""
    found = await signaling.record(redis, session_id) if _is_uuid(session_id) else None
    if found is None or found.owner_id != str(user.id):
        raise SessionNotFoundError(f"live view session {session_id} not found")
    return found


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def close_session(redis: aioredis.Redis, found: SessionRecord) -> None:
    await signaling.close(redis, found)
    logger.info("live view session %s closed by its owner", found.session_id)


def read(record: SessionRecord) -> SessionRead:
    return SessionRead(
        session_id=record.session_id,
        camera_id=record.camera_id,
        created_at=datetime.fromisoformat(record.created_at.replace("Z", "+00:00")),
        connection_state=record.connection_state,
        ice_connection_state=record.ice_connection_state,
        ice_gathering_state=record.ice_gathering_state,
        signaling_state=record.signaling_state,
        frames_sent=record.frames_sent,
    )


def client_config(settings: Settings, user: User) -> WebrtcConfig:
    return WebrtcConfig(
        ice_servers=[
            IceServerRead.model_validate(server.as_dict())
            for server in ice_servers(settings, str(user.id))
        ],
        max_sessions_per_user=settings.webrtc_max_sessions_per_user,
        max_session_s=settings.webrtc_max_session_s,
        codecs=CODECS,
    )
