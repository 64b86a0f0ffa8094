"""Cameras: register one or a list (each camera refused on its own), replace, patch and delete,
and nudge the runners after each change so they act at once rather than at their next lease
renewal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.cameras import validation
from api.cameras.schemas import (
    CameraAccepted,
    CameraBatch,
    CameraRead,
    CameraRejected,
    CameraReplace,
    CameraUpdate,
    CompatRejected,
    ItemError,
)
from api.webrtc import service as webrtc
from shared.cameras.events import CAMERAS_CHANGED_CHANNEL
from shared.db.enums import CameraDesiredState
from shared.db.models import Camera, User
from shared.errors import AppError, ConflictError, UnprocessableError
from shared.repositories import cameras as repo
from shared.repositories.cameras import NewCamera
from shared.settings import get_settings

logger = logging.getLogger(__name__)

# What a camera of a POST became: created, or why not.
Outcome = Camera | AppError


class NoValidCamerasError(UnprocessableError):
    code = "no_valid_cameras"


class CameraCheckFailedError(AppError):
    """A camera of a list whose checks failed on a fault of Vigil's (logged with its
    traceback): the answer says so in the camera's place, and the other cameras go on."""

    status_code = 500
    code = "internal_error"


def read(camera: Camera) -> CameraRead:
    return CameraRead.from_model(camera, get_settings().camera_max_detect_fps)


async def nudge(redis: aioredis.Redis, camera_ids: Iterable[UUID]) -> None:
    """Tell the runners these cameras changed. Best effort: a runner that misses it sees the
    change at its next renewal (VIGIL_CAMERA_RENEW_INTERVAL_S), and the change is committed
    already, so a Redis outage must not turn it into an error the client would retry."""
    ids = [str(camera_id) for camera_id in camera_ids]
    if not ids:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for camera_id in ids:
                pipe.publish(CAMERAS_CHANGED_CHANNEL, camera_id)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("cameras changed, but the runners could not be told: %s", exc)


async def _prepared(raw: dict[str, Any], checks: validation.SourceChecks) -> NewCamera | AppError:
    try:
        camera = validation.parse_camera(raw)
        return await validation.new_camera(camera.camera_id, camera, checks)
    except AppError as exc:
        return exc
    # A bug, not a refusal: logged in full, and answered in this camera's place alone rather
    # than as a 500 for the whole list (the other cameras were checked and are created).
    except Exception:
        logger.exception("camera %r: checking it failed", sent_camera_id(raw))
        return CameraCheckFailedError("this camera could not be checked (an internal error)")


async def register(
    user: User, redis: aioredis.Redis, items: Sequence[dict[str, Any]]
) -> list[Outcome]:
    """One outcome per item, in order. Items are checked concurrently (each resolves its host),
    then the valid ones are created in one transaction within the owner's cap."""
    checks = validation.SourceChecks()
    prepared = await asyncio.gather(*(_prepared(raw, checks) for raw in items))
    valid = [item for item in prepared if isinstance(item, NewCamera)]
    created = iter(
        await repo.create_many(user.id, valid, get_settings().max_cameras_per_user) if valid else []
    )
    outcomes: list[Outcome] = [
        next(created) if isinstance(item, NewCamera) else item for item in prepared
    ]
    await nudge(redis, (camera.id for camera in outcomes if isinstance(camera, Camera)))
    return outcomes


def sent_camera_id(raw: dict[str, Any]) -> str | None:
    camera_id = raw.get("camera_id")
    return camera_id if isinstance(camera_id, str) else None


def item_error(error: AppError) -> ItemError:
    return ItemError(
        status_code=error.status_code,
        error=error.code,
        detail=error.detail,
        fields=error.extra.get("fields"),
    )


def batch(items: Sequence[dict[str, Any]], outcomes: Sequence[Outcome]) -> CameraBatch:
    """The answer to a list: one item per camera sent."""
    answered: list[CameraAccepted | CameraRejected] = []
    for index, (raw, outcome) in enumerate(zip(items, outcomes, strict=True)):
        if isinstance(outcome, Camera):
            answered.append(CameraAccepted(index=index, **read(outcome).model_dump()))
        else:
            answered.append(
                CameraRejected(
                    index=index,
                    camera_id=sent_camera_id(raw),
                    **item_error(outcome).model_dump(),
                )
            )
    accepted = sum(isinstance(outcome, Camera) for outcome in outcomes)
    return CameraBatch(accepted=accepted, rejected=len(outcomes) - accepted, cameras=answered)


def compat_items(
    items: Sequence[dict[str, Any]], outcomes: Sequence[Outcome]
) -> list[CameraRead | CompatRejected]:
    """The camera-analytics API's answer to a list: each camera, or its `error` in its place."""
    return [
        read(outcome)
        if isinstance(outcome, Camera)
        else CompatRejected(index=index, camera_id=sent_camera_id(raw), error=item_error(outcome))
        for index, (raw, outcome) in enumerate(zip(items, outcomes, strict=True))
    ]


def nothing_created(outcomes: Sequence[Outcome], items: list[Any]) -> AppError:
    """The error a list answers when none of its cameras was created: 409 when every camera was
    a conflict (all registered already, or the cap reached), 422 otherwise. `items` says why
    for each camera."""
    errors = [outcome for outcome in outcomes if isinstance(outcome, AppError)]
    extra = {"accepted": 0, "rejected": len(errors), "cameras": items}
    if all(isinstance(error, ConflictError) for error in errors):
        return ConflictError(
            f"none of the {len(errors)} cameras was created: each is registered already or "
            "over your camera limit; `cameras` says which",
            extra=extra,
        )
    return NoValidCamerasError(
        f"none of the {len(errors)} cameras was created; `cameras` says why for each",
        extra=extra,
    )


async def replace(camera: Camera, redis: aioredis.Redis, body: CameraReplace) -> Camera:
    """The whole configuration; the camera restarts under a new generation."""
    if body.camera_id is not None and body.camera_id != camera.camera_id:
        raise validation.invalid_field(
            "camera_id", f"is {camera.camera_id} in the path; a camera cannot be renamed"
        )
    new = await validation.new_camera(camera.camera_id, body)
    changes = {
        "name": new.name,
        "desired_state": new.desired_state,
        "stream_url": new.stream_url,
        "credentials_enc": new.credentials_enc,
        "params": new.params,
    }
    updated = await repo.update(camera, changes, restart=True)
    await nudge(redis, [camera.id])
    await end_live_view_if_inactive(redis, updated)
    return updated


# Changes that affect analysis: the camera restarts under a new generation.
RESTARTING = frozenset({"desired_state", "stream_url", "params"})


async def patch(camera: Camera, redis: aioredis.Redis, body: CameraUpdate) -> Camera:
    changes: dict[str, Any] = {}
    if "name" in body.model_fields_set:
        changes["name"] = body.name
    if body.status is not None:
        changes["desired_state"] = body.status
    if body.parameters is not None:
        changes["params"] = validation.stored_params(body.parameters)
    if body.stream_url is not None:
        source = await validation.checked_source(body.stream_url)
        changes |= {"stream_url": source.url, "credentials_enc": source.credentials_enc}
    if not changes:
        return camera
    restart = not RESTARTING.isdisjoint(changes)
    updated = await repo.update(camera, changes, restart=restart)
    if restart:
        await nudge(redis, [camera.id])
        await end_live_view_if_inactive(redis, updated)
    return updated


async def delete(camera: Camera, redis: aioredis.Redis) -> None:
    await repo.delete(camera)
    await nudge(redis, [camera.id])
    await end_live_view(redis, camera)


async def end_live_view(redis: aioredis.Redis, camera: Camera) -> None:
    """Close the camera's live view sessions, as its MJPEG streams end: a viewer would
    otherwise watch "offline" until the session's time is up. Redis trouble leaves them to that
    end rather than fail the change."""
    try:
        ended = await webrtc.end_camera_sessions(redis, camera.owner_id, camera.id)
    except (RedisError, OSError) as exc:
        logger.warning("camera %s: cannot close its live view sessions (%s)", camera.id, exc)
        return
    if ended:
        logger.info("camera %s: closed its %d live view sessions", camera.id, ended)


async def end_live_view_if_inactive(redis: aioredis.Redis, camera: Camera) -> None:
    if camera.desired_state == CameraDesiredState.INACTIVE:
        await end_live_view(redis, camera)
