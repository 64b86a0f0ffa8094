"""job.progress webhooks: at most one per job per VIGIL_WEBHOOK_PROGRESS_INTERVAL_S, to the
owner's endpoints subscribed to it. Best effort: progress is already in Postgres and on the
job's event channel, so a webhook that cannot be recorded is logged and skipped."""

from __future__ import annotations

import logging
import time
from uuid import UUID

from tortoise.exceptions import BaseORMException

from shared.contracts import EVENT_JOB_PROGRESS
from shared.db.models import Job
from shared.enqueue import enqueue_deliveries
from shared.settings import get_settings
from shared.webhooks import outbox
from shared.webhooks.events import job_progress
from worker.runtime import run

logger = logging.getLogger(__name__)


class ProgressWebhooks:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.owner_id: UUID = job.owner_id  # type: ignore[attr-defined]  # Tortoise's FK column
        self.interval = get_settings().webhook_progress_interval_s
        self.last_sent: float | None = None

    def send(self, **progress: float | int | None) -> None:
        """Record and enqueue a job.progress delivery unless one went out within the interval."""
        now = time.monotonic()
        if self.last_sent is not None and now - self.last_sent < self.interval:
            return
        self.last_sent = now
        data = job_progress(self.job.id, self.job.kind.value, **progress)
        try:
            ids = run(outbox.commit_event(self.owner_id, EVENT_JOB_PROGRESS, data, job=self.job))
        except (BaseORMException, OSError):
            logger.warning(
                "job %s: could not record a progress webhook", self.job.id, exc_info=True
            )
            return
        enqueue_deliveries(ids)
