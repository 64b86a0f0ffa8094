"""Enqueue work by task name: the API never imports the worker package."""

from __future__ import annotations

import logging
from functools import lru_cache
from uuid import UUID

from celery import Celery
from kombu.exceptions import OperationalError

from shared.celery_config import make_celery
from shared.contracts import IMAGE_ANALYZE, VIDEO_ANALYZE, JobPayload
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
