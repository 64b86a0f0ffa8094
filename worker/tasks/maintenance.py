from __future__ import annotations

import logging
from datetime import timedelta

from tortoise.timezone import now as utcnow

from shared import storage
from shared.contracts import JOBS_SWEEP
from shared.db.enums import JobStatus
from shared.enqueue import enqueue_deliveries, enqueue_job
from shared.repositories import jobs as repo
from shared.settings import get_settings
from worker.celery_app import app
from worker.runtime import run
from worker.services.events import publish

logger = logging.getLogger(__name__)


@app.task(name=JOBS_SWEEP)
def sweep_jobs() -> dict[str, int]:
    """Re-send queued jobs nobody took, recover jobs whose worker died and delete annotated
    output past its retention."""
    settings = get_settings()
    result = run(
        repo.sweep(
            requeue_after=timedelta(seconds=settings.requeue_after_s),
            stale_after=timedelta(seconds=settings.stale_after_s),
            max_attempts=settings.job_max_attempts,
        )
    )
    enqueue_deliveries(result.deliveries)
    for job_id, media_path in result.failed:
        storage.delete(media_path)
        storage.delete_annotated(job_id)
        publish(job_id, "status", status=JobStatus.FAILED)
    expired = run(repo.expire_annotated(utcnow()))
    for path in expired:
        storage.delete(path)
    for job_id, kind in result.requeue:
        enqueue_job(job_id, kind)
    if result.failed or result.requeue or expired:
        logger.info(
            "sweep: re-sent %d job(s), failed %d, deleted %d expired annotated file(s)",
            len(result.requeue),
            len(result.failed),
            len(expired),
        )
    return {"requeued": len(result.requeue), "failed": len(result.failed), "expired": len(expired)}
