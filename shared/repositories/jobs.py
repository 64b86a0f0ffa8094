"""Job queries: the API's (create, own, list, delete) and the worker's (claim, progress,
finish, sweep)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import F
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.contracts import EVENT_JOB_COMPLETED, EVENT_JOB_FAILED, EVENT_WATCHLIST_MATCH
from shared.db.enums import JobKind, JobStatus
from shared.db.models import Job, JobFrame, User
from shared.repositories import webhooks
from shared.webhooks import events


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
    return await Job.get_or_none(id=job_id, owner_id=owner_id)


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


async def _upsert_frames(job_id: UUID, frames: Sequence[FrameRecord], conn: Any) -> None:
    if frames:
        await JobFrame.bulk_create(
            _frame_rows(job_id, frames),
            on_conflict=["job_id", "frame_index"],
            update_fields=["timestamp_s", "detections", "metrics"],
            using_db=conn,
        )


async def _lock_if_ours(job_id: UUID, attempt: int, conn: Any) -> bool:
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
        if not await _lock_if_ours(job_id, attempt, conn):
            return False
        await _upsert_frames(job_id, frames, conn)
        await (
            Job.filter(id=job_id)
            .using_db(conn)
            .update(heartbeat_at=now, updated_at=now, **progress)
        )
    return True


@dataclass(frozen=True)
class Finished:
    """A job this attempt finished, and the webhook deliveries written with its final state,
    to enqueue now that they are committed."""

    deliveries: list[UUID] = field(default_factory=list)


async def _outcome_deliveries(conn: Any, job_id: UUID) -> list[UUID]:
    """The outbox rows of the job's final state: job.completed (and a plate.watchlist_match per
    watchlist match) or job.failed."""
    job = await Job.filter(id=job_id).using_db(conn).first()
    if job is None:
        return []
    if job.status is JobStatus.FAILED:
        return await webhooks.add_job_deliveries(
            conn, job, EVENT_JOB_FAILED, events.job_finished(job)
        )
    ids = await webhooks.add_job_deliveries(
        conn, job, EVENT_JOB_COMPLETED, events.job_finished(job)
    )
    for match in events.watchlist_matches(job):
        ids += await webhooks.add_job_deliveries(conn, job, EVENT_WATCHLIST_MATCH, match)
    return ids


async def complete(
    job_id: UUID, attempt: int, frames: Sequence[FrameRecord], **result: Any
) -> Finished | None:
    """Store the last frames and the result; None when the job is no longer this attempt's."""
    now = utcnow()
    async with in_transaction() as conn:
        if not await _lock_if_ours(job_id, attempt, conn):
            return None
        await _upsert_frames(job_id, frames, conn)
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
        return Finished(await _outcome_deliveries(conn, job_id))


async def fail(job_id: UUID, error: str, attempt: int | None = None) -> Finished | None:
    """Mark a job failed; with an attempt number, only if that attempt still owns it. None when
    there was nothing to fail (finished, deleted or taken over)."""
    now = utcnow()
    async with in_transaction() as conn:
        query = Job.filter(id=job_id, status__in=[JobStatus.QUEUED, JobStatus.PROCESSING])
        if attempt is not None:
            query = query.filter(attempts=attempt)
        if await query.using_db(conn).select_for_update().only("id").first() is None:
            return None
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
        return Finished(await _outcome_deliveries(conn, job_id))


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


@dataclass(frozen=True)
class SweepResult:
    requeue: list[tuple[UUID, JobKind]]
    failed: list[tuple[UUID, str | None]]
    # The job.failed webhook deliveries of `failed`, to enqueue.
    deliveries: list[UUID] = field(default_factory=list)


async def sweep(requeue_after: timedelta, stale_after: timedelta, max_attempts: int) -> SweepResult:
    """Find work that was lost: queued jobs nobody took (a lost enqueue or message) and
    processing jobs whose worker stopped writing progress (it died). The latter go back to
    queued while attempts remain, otherwise they fail. Returns what to re-send and what failed."""
    now = utcnow()
    failed: list[tuple[UUID, str | None]] = []
    deliveries: list[UUID] = []
    async with in_transaction() as conn:
        stale = (
            await Job.filter(status=JobStatus.PROCESSING, heartbeat_at__lt=now - stale_after)
            .using_db(conn)
            .select_for_update(skip_locked=True)
        )
        for job in stale:
            if job.attempts >= max_attempts:
                await (
                    Job.filter(id=job.id)
                    .using_db(conn)
                    .update(
                        status=JobStatus.FAILED,
                        error=f"the worker stopped responding {job.attempts} times; giving up",
                        finished_at=now,
                        updated_at=now,
                        media_path=None,
                    )
                )
                failed.append((job.id, job.media_path))
                deliveries += await _outcome_deliveries(conn, job.id)
            else:
                await (
                    Job.filter(id=job.id)
                    .using_db(conn)
                    .update(status=JobStatus.QUEUED, updated_at=now)
                )
        exhausted = (
            await Job.filter(status=JobStatus.QUEUED, attempts__gte=max_attempts)
            .using_db(conn)
            .select_for_update(skip_locked=True)
        )
        for job in exhausted:
            await (
                Job.filter(id=job.id)
                .using_db(conn)
                .update(
                    status=JobStatus.FAILED,
                    error=f"gave up after {job.attempts} attempts",
                    finished_at=now,
                    updated_at=now,
                    media_path=None,
                )
            )
            failed.append((job.id, job.media_path))
            deliveries += await _outcome_deliveries(conn, job.id)
        # Touching updated_at makes a job that merely waits behind a long queue get re-sent
        # once per interval, not on every sweep.
        waiting = (
            await Job.filter(status=JobStatus.QUEUED, updated_at__lt=now - requeue_after)
            .using_db(conn)
            .select_for_update(skip_locked=True)
            .values_list("id", "kind")
        )
        if waiting:
            await (
                Job.filter(id__in=[job_id for job_id, _ in waiting])
                .using_db(conn)
                .update(updated_at=now)
            )
    requeue = [(job_id, JobKind(kind)) for job_id, kind in waiting]
    requeue += [(job.id, job.kind) for job in stale if job.attempts < max_attempts]
    return SweepResult(requeue=requeue, failed=failed, deliveries=deliveries)
