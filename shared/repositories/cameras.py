"""Camera queries of the API: register (within the owner's cap), own, list, change, delete,
and the counts the health reports show. The runners' leases and figures are theirs
(shared/repositories/camera_leases.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Case, F, When
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.db.enums import CameraDesiredState, CameraState
from shared.db.models import Camera, CameraRunner, User
from shared.errors import ConflictError

# States in which a camera is analysing frames (slower than asked, when degraded).
ANALYSING = (CameraState.ONLINE, CameraState.DEGRADED)


@dataclass(frozen=True)
class NewCamera:
    """A camera as validated by the API: the URL without credentials, which are encrypted."""

    camera_id: str
    name: str | None
    desired_state: CameraDesiredState
    stream_url: str
    credentials_enc: str | None
    params: dict[str, Any]


@dataclass(frozen=True)
class RunnerSummary:
    count: int
    cameras: int
    capacity: int


def initial_state(desired: CameraDesiredState) -> CameraState:
    """Where a camera starts, and restarts after a change: waiting for a runner, or stopped."""
    return CameraState.PENDING if desired is CameraDesiredState.ACTIVE else CameraState.STOPPED


def _conflict(camera_id: str) -> ConflictError:
    return ConflictError(f"you already have a camera {camera_id}")


def _over_cap(cap: int) -> ConflictError:
    return ConflictError(
        f"you have {cap} cameras, the most allowed (VIGIL_MAX_CAMERAS_PER_USER); delete one first",
        extra={"limit": cap},
    )


async def create_many(
    owner_id: UUID, cameras: Sequence[NewCamera], cap: int
) -> list[Camera | ConflictError]:
    """Each camera created, or the conflict that refused it: its camera_id is taken (by an
    earlier camera or an earlier item), or the owner would pass `cap`. One transaction: a
    failure halfway leaves no camera the client was not told about."""
    outcomes: list[Camera | ConflictError] = []
    async with in_transaction() as conn:
        # Locking the owner serialises their concurrent registrations, so the count and the
        # names below cannot race (two requests cannot both take the last slot).
        await User.filter(id=owner_id).using_db(conn).select_for_update().only("id")
        owned = Camera.filter(owner_id=owner_id).using_db(conn)
        taken = {str(camera_id) for camera_id in await owned.values_list("camera_id", flat=True)}
        for new in cameras:
            if new.camera_id in taken:
                outcomes.append(_conflict(new.camera_id))
                continue
            if len(taken) >= cap:
                outcomes.append(_over_cap(cap))
                continue
            camera = await Camera.create(
                owner_id=owner_id,
                camera_id=new.camera_id,
                name=new.name,
                stream_url=new.stream_url,
                credentials_enc=new.credentials_enc,
                params=new.params,
                desired_state=new.desired_state,
                state=initial_state(new.desired_state),
                using_db=conn,
            )
            taken.add(new.camera_id)
            outcomes.append(camera)
    return outcomes


async def get_owned(owner_id: UUID, camera_id: str) -> Camera | None:
    return await Camera.get_or_none(owner_id=owner_id, camera_id=camera_id)


async def exists(camera_uuid: UUID) -> bool:
    """Whether the camera is still registered (a stream of its events ends when it is not)."""
    return await Camera.filter(id=camera_uuid).exists()


async def list_owned(
    owner_id: UUID,
    state: CameraState | None,
    desired: CameraDesiredState | None,
    offset: int,
    limit: int,
) -> tuple[list[Camera], int]:
    query = Camera.filter(owner_id=owner_id)
    if state is not None:
        query = query.filter(state=state)
    if desired is not None:
        query = query.filter(desired_state=desired)
    total = await query.count()
    items = await query.order_by("camera_id").offset(offset).limit(limit)
    return list(items), total


async def list_for(owner_id: UUID, active_only: bool) -> list[Camera]:
    """The owner's cameras, active ones first, each group by camera_id."""
    query = Camera.filter(owner_id=owner_id)
    if active_only:
        query = query.filter(desired_state=CameraDesiredState.ACTIVE)
    # "active" sorts before "inactive".
    return list(await query.order_by("desired_state", "camera_id"))


def _restarted_state(changes: dict[str, Any]) -> CameraState | Case:
    """The state a restart leaves the camera in, from the desired state it has once updated:
    the one this UPDATE writes, or else the row's own as the UPDATE finds it. Never the one
    read before, which a concurrent change may have replaced meanwhile (an inactive camera
    would be left `pending`)."""
    if "desired_state" in changes:
        return initial_state(CameraDesiredState(changes["desired_state"]))
    return Case(
        When(desired_state=CameraDesiredState.ACTIVE, then=CameraState.PENDING.value),
        default=CameraState.STOPPED.value,
    )


async def update(camera: Camera, changes: dict[str, Any], restart: bool) -> Camera:
    """Apply `changes` (name, desired_state, stream_url, credentials_enc, params) in one UPDATE.
    With `restart` the same UPDATE hands the camera to a new generation: whichever runner holds
    it loses the lease (its renewals are conditional on the generation, so it stops its copy),
    and the camera waits for a runner again (or stays stopped when inactive). The figures and
    error of the old configuration are dropped with it."""
    now = utcnow()
    values: dict[str, Any] = {**changes, "updated_at": now}
    if restart:
        values |= {
            "generation": F("generation") + 1,
            "runner_id": None,
            "lease_until": None,
            "state": _restarted_state(changes),
            "state_since": now,
            "last_error": None,
            "runtime": {},
        }
    await Camera.filter(id=camera.id).update(**values)
    return await Camera.get(id=camera.id)


async def delete(camera: Camera) -> None:
    """The camera's events stay: they outlive its registration."""
    await Camera.filter(id=camera.id).delete()


async def owner_counts(owner_id: UUID) -> tuple[int, int]:
    """The owner's (active, analysing) cameras."""
    owned = Camera.filter(owner_id=owner_id)
    active = await owned.filter(desired_state=CameraDesiredState.ACTIVE).count()
    analysing = await owned.filter(state__in=ANALYSING).count()
    return active, analysing


async def runner_summary(alive_since: datetime) -> RunnerSummary:
    """The runners whose last heartbeat is at or after `alive_since`: how many, the cameras
    they hold and the cameras they could hold."""
    rows = await CameraRunner.filter(heartbeat_at__gte=alive_since).values_list(
        "cameras", "capacity"
    )
    return RunnerSummary(
        count=len(rows),
        cameras=sum(int(cameras) for cameras, _ in rows),
        capacity=sum(int(capacity) for _, capacity in rows),
    )
