from __future__ import annotations

import logging
import time
from datetime import timedelta

from tortoise.timezone import now as utcnow

from shared import storage
from shared.contracts import JOBS_SWEEP
from shared.db.enums import JobStatus
from shared.enqueue import enqueue_deliveries, enqueue_job
from shared.jobs import outcome
from shared.repositories import jobs as repo
from shared.settings import get_settings
from worker.celery_app import app
from worker.runtime import run
from worker.services.events import publish

logger = logging.getLogger(__name__)


def delete_orphaned_uploads(age_s: float) -> int:
    """Delete upload files older than `age_s` that no job refers to: an API process that died
    between writing an upload and recording its job leaves one behind."""
    old = storage.uploads_older_than(age_s, time.time())
    if not old:
        return 0
    referenced = run(repo.media_paths(old))
    orphans = [path for path in old if path not in referenced]
    for path in orphans:
        storage.delete(path)
    return len(orphans)


@app.task(name=JOBS_SWEEP)
def sweep_jobs() -> dict[str, int]:
    """Re-send queued jobs nobody took, recover jobs whose worker died, delete annotated
    output past its retention and uploads no job refers to."""
    settings = get_settings()
    result = run(
        outcome.sweep(
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
    orphans = delete_orphaned_uploads(settings.orphan_upload_after_s)
    for job_id, kind in result.requeue:
        enqueue_job(job_id, kind)
    if result.failed or result.requeue or expired or orphans:
        logger.info(
            "sweep: re-sent %d job(s), failed %d, deleted %d expired annotated file(s) and "
            "%d orphaned upload(s)",
            len(result.requeue),
            len(result.failed),
            len(expired),
            orphans,
        )
    return {
        "requeued": len(result.requeue),
        "failed": len(result.failed),
        "expired": len(expired),
        "orphaned_uploads": orphans,
    }
