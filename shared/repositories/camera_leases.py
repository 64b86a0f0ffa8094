"""Camera leases, the camera runners' side of the `cameras` table: a runner claims an active
camera nobody holds, renews what it holds (writing each camera's figures in the same statement)
and releases it when it stops; `camera_runners` keeps each runner's heartbeat.

Every claim bumps `generation`, and every renewal or release names the generation it holds:
a runner whose camera was changed (the API bumps the generation), deactivated, deleted, taken
over, or whose owner was deactivated matches nothing, and learns so from what its renewal
returns. A camera whose runner died says `pending` again once any runner sweeps it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from shared.db.enums import CameraDesiredState, CameraState


def _db() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


@dataclass(frozen=True)
class RunnerInfo:
    id: str
    hostname: str
    pid: int
    capacity: int
    version: str


@dataclass(frozen=True)
class ClaimedCamera:
    """A camera this runner now holds under `generation`, with what it needs to run it."""

    id: UUID
    owner_id: UUID
    camera_id: str
    name: str | None
    stream_url: str
    credentials_enc: str | None
    params: dict[str, Any]
    generation: int
    previous_state: CameraState


@dataclass(frozen=True)
class SweptCamera:
    """A camera whose runner stopped renewing its lease (died, or lost Postgres) and that no
    runner took over: `pending` now, its state before in `previous_state`."""

    id: UUID
    owner_id: UUID
    camera_id: str
    name: str | None
    generation: int
    previous_state: CameraState


@dataclass(frozen=True)
class CameraReport:
    """What a renewal writes for one held camera."""

    id: UUID
    generation: int
    state: CameraState
    runtime: dict[str, Any]
    last_frame_at: datetime | None
    last_error: str | None


class LossReason(StrEnum):
    """Why a renewal no longer matched a camera, as far as the table tells."""

    DELETED = "deleted"
    DEACTIVATED = "deactivated"
    OWNER_DEACTIVATED = "owner deactivated"
    TAKEN_OVER = "taken over by another runner"
    RECONFIGURED = "reconfigured"


HEARTBEAT_SQL = """
INSERT INTO camera_runners (id, hostname, pid, capacity, cameras, version, started_at, heartbeat_at)
VALUES ($1, $2, $3, $4, $5, $6, now(), now())
ON CONFLICT (id) DO UPDATE SET cameras = EXCLUDED.cameras, heartbeat_at = now()
"""

PRUNE_RUNNERS_SQL = (
    "DELETE FROM camera_runners WHERE heartbeat_at < now() - make_interval(secs => $1)"
)

# The camera whose lease ran out longest ago (never-held ones first) of an active owner; SKIP
# LOCKED lets runners claiming at the same moment take different cameras instead of queueing on
# one row (and OF c leaves the owner's row alone: two of one owner's cameras are claimed at
# once). The CTE reads the state before the update, for the status event's `previous`.
CLAIM_SQL = """
WITH picked AS (
    SELECT c.id, c.state FROM cameras AS c JOIN users AS u ON u.id = c.owner_id
     WHERE c.desired_state = 'active' AND u.is_active
       AND (c.lease_until IS NULL OR c.lease_until < now())
     ORDER BY c.lease_until NULLS FIRST, c.created_at
     LIMIT 1
     FOR UPDATE OF c SKIP LOCKED
)
UPDATE cameras AS c
   SET runner_id = $1, lease_until = now() + make_interval(secs => $2),
       generation = c.generation + 1, state = 'starting', state_since = now(), started_at = now()
  FROM picked
 WHERE c.id = picked.id
RETURNING c.id, c.owner_id, c.camera_id, c.name, c.stream_url, c.credentials_enc, c.params,
          c.generation, picked.state AS previous_state
"""

# All of a runner's cameras in one statement, each only while it still holds that generation
# and the camera (and its owner) is still wanted; `state_since` moves only when the state does.
RENEW_SQL = """
UPDATE cameras AS c
   SET lease_until = now() + make_interval(secs => $2),
       state = r.state,
       state_since = CASE WHEN c.state = r.state THEN c.state_since ELSE now() END,
       runtime = r.runtime, last_frame_at = r.last_frame_at, last_error = r.last_error
  FROM jsonb_to_recordset($3::jsonb) AS r(
       id uuid, generation int, state text, runtime jsonb, last_frame_at timestamptz,
       last_error text), users AS u
 WHERE c.id = r.id AND c.generation = r.generation AND c.runner_id = $1
   AND c.desired_state = 'active' AND u.id = c.owner_id AND u.is_active
RETURNING c.id
"""

RELEASE_SQL = """
UPDATE cameras AS c
   SET runner_id = NULL, lease_until = NULL, state = $4, state_since = now()
  FROM unnest($2::uuid[], $3::int[]) AS h(id, generation)
 WHERE c.id = h.id AND c.generation = h.generation AND c.runner_id = $1
"""

WHY_LOST_SQL = """
SELECT c.id, c.desired_state, c.runner_id, u.is_active AS owner_active
  FROM cameras AS c JOIN users AS u ON u.id = c.owner_id
 WHERE c.id = ANY($1::uuid[])
"""

# Active cameras whose lease ran out $1 seconds ago and more while they still say they run: their
# runner died and no runner claimed them since (all full, or none left). SKIP LOCKED: of runners
# sweeping at once, one takes each camera. The lease stays as it is, so claims still find the
# camera first.
SWEEP_SQL = """
WITH stale AS (
    SELECT id, state FROM cameras
     WHERE desired_state = 'active' AND lease_until < now() - make_interval(secs => $1)
       AND state NOT IN ('pending', 'stopped', 'error')
     FOR UPDATE SKIP LOCKED
)
UPDATE cameras AS c
   SET state = 'pending', state_since = now(), runner_id = NULL
  FROM stale
 WHERE c.id = stale.id
RETURNING c.id, c.owner_id, c.camera_id, c.name, c.generation, stale.state AS previous_state
"""


def _json(value: Any) -> Any:
    # asyncpg hands jsonb over as text unless a codec is set on the connection.
    return json.loads(value) if isinstance(value, str) else value


async def heartbeat(runner: RunnerInfo, cameras: int) -> None:
    """Register the runner, or refresh its heartbeat and camera count."""
    await _db().execute_query(
        HEARTBEAT_SQL,
        [runner.id, runner.hostname, runner.pid, runner.capacity, cameras, runner.version],
    )


async def prune_runners(silent_for_s: float) -> None:
    """Forget runners that died without saying so (killed, host lost)."""
    await _db().execute_query(PRUNE_RUNNERS_SQL, [silent_for_s])


async def delete_runner(runner_id: str) -> None:
    await _db().execute_query("DELETE FROM camera_runners WHERE id = $1", [runner_id])


async def claim(runner_id: str, lease_s: float) -> ClaimedCamera | None:
    """Take one active camera whose lease has run out (or that nobody held); None when there
    is none."""
    rows = await _db().execute_query_dict(CLAIM_SQL, [runner_id, lease_s])
    if not rows:
        return None
    row = rows[0]
    return ClaimedCamera(
        id=row["id"],
        owner_id=row["owner_id"],
        camera_id=row["camera_id"],
        name=row["name"],
        stream_url=row["stream_url"],
        credentials_enc=row["credentials_enc"],
        params=_json(row["params"]),
        generation=row["generation"],
        previous_state=CameraState(row["previous_state"]),
    )


def _report(report: CameraReport) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "generation": report.generation,
        "state": report.state.value,
        "runtime": report.runtime,
        "last_frame_at": report.last_frame_at.isoformat() if report.last_frame_at else None,
        "last_error": report.last_error,
    }


async def renew(runner_id: str, lease_s: float, reports: Sequence[CameraReport]) -> set[UUID]:
    """Extend the lease of each camera still held under the reported generation and write its
    figures; returns the ids renewed. A camera missing from them must stop at once."""
    if not reports:
        return set()
    document = json.dumps([_report(report) for report in reports])
    # execute_query would drop RETURNING's rows: it runs UPDATE statements without fetching.
    rows = await _db().execute_query_dict(RENEW_SQL, [runner_id, lease_s, document])
    return {row["id"] for row in rows}


async def release(
    runner_id: str, held: Sequence[tuple[UUID, int]], state: CameraState = CameraState.PENDING
) -> None:
    """Give cameras back: `pending` (the runner is stopping), for any runner to claim now; or
    `stopped` (their owner was deactivated), for none to claim until the owner is back."""
    if not held:
        return
    ids = [camera_id for camera_id, _ in held]
    generations = [generation for _, generation in held]
    await _db().execute_query(RELEASE_SQL, [runner_id, ids, generations, state.value])


async def sweep(after_s: float) -> list[SweptCamera]:
    """Cameras left running by a dead runner, now `pending` (see SWEEP_SQL)."""
    rows = await _db().execute_query_dict(SWEEP_SQL, [after_s])
    return [
        SweptCamera(
            id=row["id"],
            owner_id=row["owner_id"],
            camera_id=row["camera_id"],
            name=row["name"],
            generation=row["generation"],
            previous_state=CameraState(row["previous_state"]),
        )
        for row in rows
    ]


async def why_lost(runner_id: str, ids: Sequence[UUID]) -> dict[UUID, LossReason]:
    """For cameras a renewal no longer matched: each one's LossReason."""
    rows = await _db().execute_query_dict(WHY_LOST_SQL, [list(ids)])
    found = {row["id"]: row for row in rows}
    reasons: dict[UUID, LossReason] = {}
    for camera_id in ids:
        row = found.get(camera_id)
        if row is None:
            reasons[camera_id] = LossReason.DELETED
        elif row["desired_state"] != CameraDesiredState.ACTIVE.value:
            reasons[camera_id] = LossReason.DEACTIVATED
        elif not row["owner_active"]:
            reasons[camera_id] = LossReason.OWNER_DEACTIVATED
        elif row["runner_id"] not in (None, runner_id):
            reasons[camera_id] = LossReason.TAKEN_OVER
        else:
            reasons[camera_id] = LossReason.RECONFIGURED
    return reasons
