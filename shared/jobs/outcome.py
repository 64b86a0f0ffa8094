"""How a job ends, or goes back to the queue: each transition with the webhook events it
produces, written in the same transaction as the job's new state (shared.webhooks.outbox), so
that an outcome is announced if and only if it committed. The callers enqueue the deliveries
returned, and delete the job's files, once the call has returned.

A failure, whatever its cause, goes through `_fail_locked`: status, error and the job.failed
event are the same whether the worker, the sweeper or a late duplicate message fails the job."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.contracts import EVENT_JOB_COMPLETED, EVENT_JOB_FAILED, EVENT_WATCHLIST_MATCH
from shared.db.enums import JobKind
from shared.db.models import Job
from shared.repositories import jobs as repo
from shared.repositories.jobs import FrameRecord
from shared.webhooks import events, outbox


@dataclass(frozen=True)
class Finished:
    """A job this call finished, and the webhook deliveries written with its final state."""

    deliveries: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: the jobs to send to the workers again, the jobs it failed (with the
    upload each leaves to delete) and the job.failed deliveries written with them."""

    requeue: list[tuple[UUID, JobKind]] = field(default_factory=list)
    failed: list[tuple[UUID, str | None]] = field(default_factory=list)
    deliveries: list[UUID] = field(default_factory=list)

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.requeue + other.requeue,
            self.failed + other.failed,
            self.deliveries + other.deliveries,
        )


def _owner_id(job: Job) -> UUID:
    owner_id: UUID = job.owner_id  # type: ignore[attr-defined]  # Tortoise's FK column
    return owner_id


def _gave_up(job: Job) -> str:
    return f"gave up after {job.attempts} attempts"


def _worker_died(job: Job) -> str:
    return f"the worker stopped responding {job.attempts} times; giving up"


async def _completed_events(conn: BaseDBAsyncClient, job_id: UUID) -> list[UUID]:
    """job.completed, and a plate.watchlist_match per watchlist match of its summary."""
    job = await repo.reload(conn, job_id)
    owner_id = _owner_id(job)
    ids = await outbox.add_event(
        conn, owner_id, EVENT_JOB_COMPLETED, events.job_finished(job), job=job
    )
    for match in events.watchlist_matches(job):
        ids += await outbox.add_event(conn, owner_id, EVENT_WATCHLIST_MATCH, match, job=job)
    return ids


async def _fail_locked(conn: BaseDBAsyncClient, job_id: UUID, error: str) -> list[UUID]:
    """Fail a job whose row this transaction holds; returns its job.failed deliveries."""
    await repo.mark_failed(conn, job_id, error)
    job = await repo.reload(conn, job_id)
    return await outbox.add_event(
        conn, _owner_id(job), EVENT_JOB_FAILED, events.job_finished(job), job=job
    )


async def _fail_all(
    conn: BaseDBAsyncClient, jobs: Sequence[Job], reason: Callable[[Job], str]
) -> SweepResult:
    deliveries: list[UUID] = []
    for job in jobs:
        deliveries += await _fail_locked(conn, job.id, reason(job))
    return SweepResult(failed=[(job.id, job.media_path) for job in jobs], deliveries=deliveries)


async def complete(
    job_id: UUID, attempt: int, frames: Sequence[FrameRecord], **result: Any
) -> Finished | None:
    """Store the last frames and the result; None when the job is no longer this attempt's."""
    async with in_transaction() as conn:
        if not await repo.lock_if_ours(conn, job_id, attempt):
            return None
        await repo.upsert_frames(conn, job_id, frames)
        await repo.mark_completed(conn, job_id, **result)
        return Finished(await _completed_events(conn, job_id))


async def fail(job_id: UUID, error: str, attempt: int | None = None) -> Finished | None:
    """Fail a queued or processing job; with an attempt number, only if that attempt still
    owns it. None when there was nothing to fail (finished, deleted or taken over)."""
    async with in_transaction() as conn:
        if not await repo.lock_unfinished(conn, job_id, attempt):
            return None
        return Finished(await _fail_locked(conn, job_id, error))


async def give_up(job_id: UUID, max_attempts: int) -> Finished | None:
    """Fail a queued job that has used all its attempts (a message delivered after its last);
    None when it is not one, or the sweeper is failing it right now."""
    async with in_transaction() as conn:
        exhausted = await repo.lock_exhausted(conn, max_attempts, job_id)
        if not exhausted:
            return None
        return Finished((await _fail_all(conn, exhausted, _gave_up)).deliveries)


async def requeue_stale(stale_after: timedelta, max_attempts: int) -> SweepResult:
    """Processing jobs silent for `stale_after` (their worker died): back to the queue while
    attempts remain, failed otherwise."""
    async with in_transaction() as conn:
        stale = await repo.lock_stale(conn, utcnow() - stale_after)
        again = [job for job in stale if job.attempts < max_attempts]
        await repo.mark_queued(conn, [job.id for job in again])
        dead = [job for job in stale if job.attempts >= max_attempts]
        failed = await _fail_all(conn, dead, _worker_died)
    return SweepResult(requeue=[(job.id, job.kind) for job in again]) + failed


async def fail_exhausted(max_attempts: int) -> SweepResult:
    """Queued jobs that have used all their attempts (the last delivery found them so, or a
    message of theirs was lost): failed."""
    async with in_transaction() as conn:
        return await _fail_all(conn, await repo.lock_exhausted(conn, max_attempts), _gave_up)


async def touch_waiting(requeue_after: timedelta) -> SweepResult:
    """Queued jobs nobody took for `requeue_after` (a lost enqueue or message), to send again.
    Touching updated_at makes a job that merely waits behind a long queue get re-sent once per
    interval, not on every sweep; a duplicate message does nothing."""
    async with in_transaction() as conn:
        waiting = await repo.lock_waiting(conn, utcnow() - requeue_after)
        await repo.touch(conn, [job.id for job in waiting])
    return SweepResult(requeue=[(job.id, job.kind) for job in waiting])


async def sweep(requeue_after: timedelta, stale_after: timedelta, max_attempts: int) -> SweepResult:
    """Find the work that was lost, each kind in a transaction of its own. Rows another sweep
    holds are skipped, so two sweeps at once never handle one job twice."""
    stale = await requeue_stale(stale_after, max_attempts)
    exhausted = await fail_exhausted(max_attempts)
    return await touch_waiting(requeue_after) + stale + exhausted
