"""Job queries: the API's (create, own, list, delete) and the worker's (claim, progress, and
the locks and writes of the transitions shared.jobs.outcome makes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.db.enums import JobKind, JobStatus
from shared.db.models import Job, JobFrame, User
from shared.repositories import lookups


@dataclass(frozen=True)
class FrameRecord:
    frame_index: int
    timestamp_s: float
    detections: list[dict[str, Any]]
    metrics: dict[str, Any] | None = None


async def create(
    owner_id: UUID,
    kind: JobKind,
    params: dict[str, Any],
    media_path: str,
    media: dict[str, Any],
    callback_url: str | None = None,
) -> Job:
    return await Job.create(
        owner_id=owner_id,
        kind=kind,
        params=params,
        media_path=media_path,
        media=media,
        callback_url=callback_url,
    )


async def lock_owner(owner_id: UUID) -> None:
    """Inside a transaction: hold the owner's row, so that quota checks and the jobs they
    admit are one step for each user (two uploads at once cannot both take the last slot)."""
    await User.filter(id=owner_id).select_for_update().first()


async def count_active(owner_id: UUID) -> int:
    return await Job.filter(
        owner_id=owner_id, status__in=(JobStatus.QUEUED, JobStatus.PROCESSING)
    ).count()


async def stored_files(owner_id: UUID) -> tuple[int, list[str]]:
    """The bytes of the owner's uploads still on disk (those of jobs not finished yet) and
    the paths of the annotated outputs kept."""
    media: list[Any] = await Job.filter(
        owner_id=owner_id, status__in=(JobStatus.QUEUED, JobStatus.PROCESSING)
    ).values_list("media", flat=True)
    uploads = sum(int(item.get("size_bytes") or 0) for item in media if isinstance(item, dict))
    annotated = await Job.filter(owner_id=owner_id, annotated_path__isnull=False).values_list(
        "annotated_path", flat=True
    )
    return uploads, [str(path) for path in annotated]


async def media_paths(paths: Sequence[str]) -> set[str]:
    """Which of these upload paths a job still refers to."""
    return {
        str(path)
        for path in await Job.filter(media_path__in=list(paths)).values_list(
            "media_path", flat=True
        )
    }


async def get_owned(job_id: UUID, owner_id: UUID) -> Job | None:
    return await lookups.one(Job, 't."id" = $1 AND t."owner_id" = $2', job_id, owner_id)


async def get_owned_by_signed_in(job_id: UUID, owner_id: UUID, token_version: int) -> Job | None:
    """The job if it is the owner's and the owner is active at `token_version`: what a bearer
    token's request needs checked, in one query. Every status poll asks (fixed SQL:
    shared/repositories/lookups.py)."""
    return await lookups.one(
        Job,
        't."id" = $1 AND t."owner_id" = $2 AND u."is_active" AND u."token_version" = $3',
        job_id,
        owner_id,
        token_version,
        join='JOIN "users" AS u ON u."id" = t."owner_id"',
    )


async def get(job_id: UUID) -> Job | None:
    return await Job.get_or_none(id=job_id)


async def list_owned(
    owner_id: UUID, status: JobStatus | None, offset: int, limit: int
) -> tuple[list[Job], int]:
    query = Job.filter(owner_id=owner_id)
    if status is not None:
        query = query.filter(status=status)
    total = await query.count()
    items = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return list(items), total


async def delete(job_id: UUID) -> None:
    await Job.filter(id=job_id).delete()


async def frames_page(job_id: UUID, offset: int, limit: int) -> tuple[list[JobFrame], int]:
    query = JobFrame.filter(job_id=job_id)
    total = await query.count()
    items = await query.order_by("frame_index").offset(offset).limit(limit)
    return list(items), total


async def claim(job_id: UUID, max_attempts: int) -> Job | None:
    """queued → processing, once per delivery; the job returned carries this attempt's number."""
    now = utcnow()
    claimed = await Job.filter(
        id=job_id, status=JobStatus.QUEUED, attempts__lt=max_attempts
    ).update(
        status=JobStatus.PROCESSING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        updated_at=now,
        error=None,
    )
    if not claimed:
        return None
    return await Job.get(id=job_id)


def _frame_rows(job_id: UUID, frames: Sequence[FrameRecord]) -> list[JobFrame]:
    return [
        JobFrame(
            job_id=job_id,
            frame_index=f.frame_index,
            timestamp_s=f.timestamp_s,
            detections=f.detections,
            metrics=f.metrics,
        )
        for f in frames
    ]


async def upsert_frames(
    conn: BaseDBAsyncClient, job_id: UUID, frames: Sequence[FrameRecord]
) -> None:
    if frames:
        await JobFrame.bulk_create(
            _frame_rows(job_id, frames),
            on_conflict=["job_id", "frame_index"],
            update_fields=["timestamp_s", "detections", "metrics"],
            using_db=conn,
        )


async def lock_if_ours(conn: BaseDBAsyncClient, job_id: UUID, attempt: int) -> bool:
    """Lock the job row if `attempt` still owns it (processing, not deleted or superseded)."""
    # A model query: Tortoise drops FOR UPDATE from `.exists()` and `.values_list()`.
    row = await (
        Job.filter(id=job_id, status=JobStatus.PROCESSING, attempts=attempt)
        .using_db(conn)
        .select_for_update()
        .only("id")
        .first()
    )
    return row is not None


async def write_progress(
    job_id: UUID, attempt: int, frames: Sequence[FrameRecord], **progress: Any
) -> bool:
    """Store a batch of frames and the progress counters; False once the job is no longer ours
    (deleted, cancelled or taken over by a newer attempt), which tells the worker to stop."""
    now = utcnow()
    async with in_transaction() as conn:
        if not await lock_if_ours(conn, job_id, attempt):
            return False
        await upsert_frames(conn, job_id, frames)
        await (
            Job.filter(id=job_id)
            .using_db(conn)
            .update(heartbeat_at=now, updated_at=now, **progress)
        )
    return True


async def lock_unfinished(
    conn: BaseDBAsyncClient, job_id: UUID, attempt: int | None = None
) -> bool:
    """Lock the job row if it is queued or processing; with an attempt number, only if that
    attempt still owns it."""
    query = Job.filter(id=job_id, status__in=[JobStatus.QUEUED, JobStatus.PROCESSING])
    if attempt is not None:
        query = query.filter(attempts=attempt)
    return await query.using_db(conn).select_for_update().only("id").first() is not None


async def lock_stale(conn: BaseDBAsyncClient, silent_since: datetime) -> list[Job]:
    """Processing jobs with no heartbeat since `silent_since` (their worker died), locked;
    those another transaction holds are skipped."""
    return list(
        await Job.filter(status=JobStatus.PROCESSING, heartbeat_at__lt=silent_since)
        .using_db(conn)
        .select_for_update(skip_locked=True)
    )


async def lock_exhausted(
    conn: BaseDBAsyncClient, max_attempts: int, job_id: UUID | None = None
) -> list[Job]:
    """Queued jobs (all, or the one given) that have used `max_attempts` attempts, locked;
    those another transaction holds are skipped."""
    query = Job.filter(status=JobStatus.QUEUED, attempts__gte=max_attempts)
    if job_id is not None:
        query = query.filter(id=job_id)
    return list(await query.using_db(conn).select_for_update(skip_locked=True))


async def lock_waiting(conn: BaseDBAsyncClient, untouched_since: datetime) -> list[Job]:
    """Queued jobs not updated since `untouched_since` (their id and kind), locked; those
    another transaction holds are skipped."""
    # A model query: Tortoise drops FOR UPDATE from `.values_list()`.
    return list(
        await Job.filter(status=JobStatus.QUEUED, updated_at__lt=untouched_since)
        .using_db(conn)
        .select_for_update(skip_locked=True)
        .only("id", "kind")
    )


async def reload(conn: BaseDBAsyncClient, job_id: UUID) -> Job:
    """A job whose row this transaction holds, as it is now."""
    return await Job.filter(id=job_id).using_db(conn).get()


async def mark_completed(conn: BaseDBAsyncClient, job_id: UUID, **result: Any) -> None:
    """The job's final state after a successful attempt; its upload is deleted by the caller."""
    now = utcnow()
    await (
        Job.filter(id=job_id)
        .using_db(conn)
        .update(
            status=JobStatus.COMPLETED,
            progress=100.0,
            estimated_completion=None,
            finished_at=now,
            heartbeat_at=now,
            updated_at=now,
            media_path=None,
            **result,
        )
    )


async def mark_failed(conn: BaseDBAsyncClient, job_id: UUID, error: str) -> None:
    """The job's final state when it fails, whatever the cause; its upload is deleted by the
    caller."""
    now = utcnow()
    await (
        Job.filter(id=job_id)
        .using_db(conn)
        .update(
            status=JobStatus.FAILED,
            error=error,
            estimated_completion=None,
            finished_at=now,
            updated_at=now,
            media_path=None,
        )
    )


async def mark_queued(conn: BaseDBAsyncClient, job_ids: Sequence[UUID]) -> None:
    if job_ids:
        await (
            Job.filter(id__in=list(job_ids))
            .using_db(conn)
            .update(status=JobStatus.QUEUED, updated_at=utcnow())
        )


async def touch(conn: BaseDBAsyncClient, job_ids: Sequence[UUID]) -> None:
    if job_ids:
        await Job.filter(id__in=list(job_ids)).using_db(conn).update(updated_at=utcnow())


async def expire_annotated(now: datetime) -> list[str]:
    """Forget annotated outputs past their retention; returns their paths for deletion."""
    async with in_transaction() as conn:
        expired = (
            await Job.filter(annotated_expires_at__lt=now)
            .using_db(conn)
            .select_for_update(skip_locked=True)
        )
        if expired:
            await (
                Job.filter(id__in=[job.id for job in expired])
                .using_db(conn)
                .update(annotated_path=None, annotated_expires_at=None)
            )
    return [job.annotated_path for job in expired if job.annotated_path]
