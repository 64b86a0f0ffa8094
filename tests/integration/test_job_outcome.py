"""The job outcome service against a real Postgres of its own (no stack: nothing else sweeps or
runs these jobs): the sweeper's locks, and the outbox rows each transition writes with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.contracts import EVENT_JOB_COMPLETED, EVENT_JOB_FAILED, EVENT_WATCHLIST_MATCH
from shared.db.config import tortoise_config
from shared.db.enums import JobKind, JobStatus
from shared.db.models import Job, User, WebhookDelivery, WebhookEndpoint
from shared.jobs import outcome
from shared.ops.migrate import migrate
from shared.webhooks import outbox
from tests.conftest import TEST_DB, TEST_ENV
from tests.integration.conftest import ADMIN_DSN

DATABASE = f"{TEST_DB}_outcome"
DATABASE_URL = TEST_ENV["VIGIL_DATABASE_URL"].replace(TEST_DB, DATABASE)
MAX_ATTEMPTS = 3
# Long enough for a blocked sweep to be told apart from a quick one on a busy machine.
PATIENCE_S = 5.0
LONG_AGO = timedelta(minutes=10)


async def _drop() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def database() -> Iterator[None]:
    asyncio.run(migrate(DATABASE_URL))
    try:
        yield
    finally:
        asyncio.run(_drop())


def run_with_orm(scenario: Callable[[], Awaitable[None]]) -> None:
    async def wrapped() -> None:
        await Tortoise.init(config=tortoise_config(DATABASE_URL))
        try:
            await scenario()
        finally:
            await Tortoise.close_connections()

    asyncio.run(wrapped())


async def _owner(*subscriptions: list[str]) -> User:
    """A fresh user with an active endpoint for each list of event types."""
    owner = await User.create(email=f"{uuid4().hex}@example.com", password_hash="x")
    for event_types in subscriptions:
        await WebhookEndpoint.create(
            owner=owner, url="https://hooks.example.com/", event_types=event_types, secret="s"
        )
    return owner


async def _job(owner: User, idle: timedelta = timedelta(0), **fields: Any) -> Job:
    """A job of `owner` last touched (and last heartbeat) `idle` ago."""
    job = await Job.create(
        owner=owner, kind=JobKind.IMAGE, media_path=f"uploads/{uuid4().hex}.jpg", **fields
    )
    await Job.filter(id=job.id).update(
        updated_at=utcnow() - idle, heartbeat_at=utcnow() - idle if idle else None
    )
    return job


async def _deliveries(job_id: UUID) -> list[tuple[str, str]]:
    rows = await WebhookDelivery.filter(job_id=job_id).order_by("event_type", "url")
    return [(row.event_type, row.url) for row in rows]


def test_a_waiting_job_another_sweeper_holds_is_skipped_not_waited_for(database: None) -> None:
    """Two sweeps at once (two beats, or one slow run overlapping the next) must not both
    re-send a waiting job: the sweep's read locks the rows it takes and skips locked ones. A
    read that takes no lock returns the held job and then blocks on updating it."""

    async def scenario() -> None:
        job = await _job(await _owner(), LONG_AGO)
        other = await asyncpg.connect(DATABASE_URL.replace("postgres://", "postgresql://"))
        held = other.transaction()
        await held.start()
        try:
            await other.execute("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", job.id)
            swept = await asyncio.wait_for(
                outcome.sweep(timedelta(seconds=1), timedelta(minutes=5), MAX_ATTEMPTS),
                PATIENCE_S,
            )
        finally:
            await held.rollback()
            await other.close()
        assert job.id not in [job_id for job_id, _ in swept.requeue]
        # Once released, the next sweep takes it.
        swept = await outcome.touch_waiting(timedelta(seconds=1))
        assert (job.id, JobKind.IMAGE) in swept.requeue

    run_with_orm(scenario)


def test_a_failure_writes_its_webhooks_with_it_once(database: None) -> None:
    async def scenario() -> None:
        owner = await _owner([EVENT_JOB_FAILED], [EVENT_JOB_COMPLETED])
        job = await _job(owner, callback_url="https://callback.example.com/")
        failed = await outcome.fail(job.id, "the video could not be decoded")
        assert failed is not None
        assert len(failed.deliveries) == 2
        stored = await Job.get(id=job.id)
        assert stored.status is JobStatus.FAILED
        assert stored.error == "the video could not be decoded"
        assert stored.media_path is None
        assert stored.finished_at is not None
        assert await _deliveries(job.id) == [
            (EVENT_JOB_FAILED, "https://callback.example.com/"),
            (EVENT_JOB_FAILED, "https://hooks.example.com/"),
        ]
        assert await outcome.fail(job.id, "again") is None

    run_with_orm(scenario)


def test_a_completion_announces_each_watchlist_match(database: None) -> None:
    async def scenario() -> None:
        owner = await _owner([EVENT_JOB_COMPLETED, EVENT_WATCHLIST_MATCH])
        job = await _job(owner)
        await Job.filter(id=job.id).update(status=JobStatus.PROCESSING, attempts=1)
        matches = [{"type": "watchlist_match", "plate": plate} for plate in ("AB12CDE", "XY34Z")]
        done = await outcome.complete(job.id, 1, [], summary={"events": matches})
        assert done is not None
        assert len(done.deliveries) == 3
        assert [event for event, _ in await _deliveries(job.id)] == [
            EVENT_JOB_COMPLETED,
            EVENT_WATCHLIST_MATCH,
            EVENT_WATCHLIST_MATCH,
        ]
        # Superseded: the attempt no longer owns the job.
        assert await outcome.complete(job.id, 1, []) is None

    run_with_orm(scenario)


def test_stale_jobs_go_back_to_the_queue_until_their_attempts_run_out(database: None) -> None:
    async def scenario() -> None:
        owner = await _owner([EVENT_JOB_FAILED])
        retried = await _job(owner, LONG_AGO, status=JobStatus.PROCESSING, attempts=1)
        dead = await _job(owner, LONG_AGO, status=JobStatus.PROCESSING, attempts=MAX_ATTEMPTS)
        swept = await outcome.requeue_stale(timedelta(minutes=5), MAX_ATTEMPTS)
        assert (retried.id, JobKind.IMAGE) in swept.requeue
        assert (dead.id, dead.media_path) in swept.failed
        assert (await Job.get(id=retried.id)).status is JobStatus.QUEUED
        stored = await Job.get(id=dead.id)
        assert stored.status is JobStatus.FAILED
        assert stored.error == "the worker stopped responding 3 times; giving up"
        assert await _deliveries(dead.id) == [(EVENT_JOB_FAILED, "https://hooks.example.com/")]

    run_with_orm(scenario)


def test_a_queued_job_out_of_attempts_is_given_up_once(database: None) -> None:
    async def scenario() -> None:
        job = await _job(await _owner([EVENT_JOB_FAILED]), attempts=MAX_ATTEMPTS)
        given_up = await outcome.give_up(job.id, MAX_ATTEMPTS)
        assert given_up is not None
        assert len(given_up.deliveries) == 1
        assert (await Job.get(id=job.id)).error == "gave up after 3 attempts"
        assert await outcome.give_up(job.id, MAX_ATTEMPTS) is None
        assert job.id not in [job_id for job_id, _ in (await outcome.fail_exhausted(3)).failed]

    run_with_orm(scenario)


def test_an_owner_s_event_outside_a_job_commits_or_rolls_back_with_its_transaction(
    database: None,
) -> None:
    """What a caller other than a job (a camera) writes to the outbox: no callback URL and no
    job, the subscribed endpoints only, and nothing at all if its transaction fails."""

    async def scenario() -> None:
        owner = await _owner([EVENT_WATCHLIST_MATCH], [EVENT_JOB_FAILED])
        data = {"plate": "AB12CDE"}

        async def event_then_failure() -> None:
            async with in_transaction() as conn:
                await outbox.add_event(conn, owner.id, EVENT_WATCHLIST_MATCH, data)
                raise RuntimeError("the change it reports failed")

        with pytest.raises(RuntimeError):
            await event_then_failure()
        assert not await WebhookDelivery.filter(owner_id=owner.id).exists()
        ids = await outbox.commit_event(owner.id, EVENT_WATCHLIST_MATCH, data)
        rows = await WebhookDelivery.filter(owner_id=owner.id)
        assert len(ids) == 1
        assert [row.id for row in rows] == ids
        assert rows[0].job_id is None  # type: ignore[attr-defined]
        assert rows[0].payload["type"] == EVENT_WATCHLIST_MATCH
        assert rows[0].payload["data"] == data

    run_with_orm(scenario)
