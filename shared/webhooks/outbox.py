"""The outbox: an owner's webhook event, written as delivery rows in the caller's transaction, so
that it commits with the change it reports or not at all. The caller enqueues the ids returned
once that transaction has committed (shared.enqueue.enqueue_deliveries); the sweeper sends any
whose message is lost. Any event type of shared.contracts, a job's or not."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from shared.contracts import EVENT_JOB_COMPLETED, EVENT_JOB_FAILED
from shared.db.models import Job
from shared.repositories import webhooks
from shared.webhooks.events import envelope

# Job outcomes also go to the job's own callback_url; progress and plate matches do not.
CALLBACK_EVENTS = (EVENT_JOB_COMPLETED, EVENT_JOB_FAILED)


async def add_event(
    conn: BaseDBAsyncClient,
    owner_id: UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    job: Job | None = None,
) -> list[UUID]:
    """One delivery per active endpoint of the owner subscribed to `event_type`, and, for a
    job's outcome, one to the job's callback_url; `job` also files the deliveries under the
    job. Returns their ids, to enqueue once the transaction has committed."""
    targets: list[tuple[UUID | None, str]] = [
        (endpoint.id, endpoint.url)
        for endpoint in await webhooks.subscribed_endpoints(conn, owner_id, event_type)
    ]
    if job is not None and job.callback_url and event_type in CALLBACK_EVENTS:
        targets.append((None, job.callback_url))
    return await webhooks.add_deliveries(
        conn,
        owner_id,
        event_type,
        envelope(event_type, data),
        targets,
        job_id=job.id if job is not None else None,
    )


async def commit_event(
    owner_id: UUID, event_type: str, data: dict[str, Any], *, job: Job | None = None
) -> list[UUID]:
    """`add_event` in a transaction of its own, for an event that changes no state
    (job.progress)."""
    async with in_transaction() as conn:
        return await add_event(conn, owner_id, event_type, data, job=job)
