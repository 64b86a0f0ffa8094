"""Enqueue work by task name: the API never imports the worker package."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from uuid import UUID

from celery import Celery
from kombu.exceptions import OperationalError

from shared.celery_config import make_celery
from shared.contracts import IMAGE_ANALYZE, VIDEO_ANALYZE, WEBHOOK_DELIVER, JobPayload
from shared.db.enums import JobKind

logger = logging.getLogger(__name__)

TASK_FOR_KIND = {JobKind.IMAGE: IMAGE_ANALYZE, JobKind.VIDEO: VIDEO_ANALYZE}


@lru_cache
def celery_client() -> Celery:
    return make_celery("vigil-client")


def enqueue_job(job_id: UUID, kind: JobKind) -> bool:
    """Send the job's task; False when the broker is unreachable (the sweeper re-sends it later)."""
    payload = JobPayload(job_id=job_id).model_dump(mode="json")
    try:
        celery_client().send_task(TASK_FOR_KIND[kind], kwargs=payload, retry=False)
    except OperationalError:
        logger.warning("could not enqueue job %s; the sweeper will retry", job_id, exc_info=True)
        return False
    return True


def enqueue_delivery(delivery_id: UUID, countdown: float | None = None) -> bool:
    """Send a webhook delivery's task, after `countdown` seconds if given; False when the broker
    is unreachable (the outbox row stays pending and the webhook sweeper re-sends it)."""
    try:
        celery_client().send_task(
            WEBHOOK_DELIVER,
            kwargs={"delivery_id": str(delivery_id)},
            countdown=countdown,
            retry=False,
        )
    except OperationalError:
        logger.warning(
            "could not enqueue webhook delivery %s; the sweeper will retry",
            delivery_id,
            exc_info=True,
        )
        return False
    return True


def enqueue_deliveries(delivery_ids: Iterable[UUID]) -> None:
    for delivery_id in delivery_ids:
        enqueue_delivery(delivery_id)
