"""The Celery configuration both sides use: the API to enqueue by name, the worker to consume."""

from __future__ import annotations

from celery import Celery

from shared.contracts import JOBS_SWEEP, MAINTENANCE_QUEUE, TASK_QUEUES, WEBHOOKS_SWEEP
from shared.settings import get_settings


def make_celery(name: str) -> Celery:
    settings = get_settings()
    app = Celery(name)
    app.conf.update(
        broker_url=settings.redis_url,
        broker_connection_retry_on_startup=True,
        # Waiting for a pooled connection, or for a new one, fails after this long with
        # OperationalError instead of blocking the caller's thread for ever.
        broker_pool_acquire_timeout=settings.broker_timeout_s,
        broker_connection_timeout=settings.broker_timeout_s,
        # A message must stay invisible longer than the longest task may run, or a
        # second worker would start the same job while the first is still on it.
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s},
        task_serializer="json",
        accept_content=["json"],
        # Postgres holds every result; Celery's result backend would only duplicate it.
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_routes={task: {"queue": queue} for task, queue in TASK_QUEUES.items()},
        task_default_queue=MAINTENANCE_QUEUE,
        worker_send_task_events=True,
        task_send_sent_event=True,
        enable_utc=True,
        beat_schedule={
            "sweep-jobs": {"task": JOBS_SWEEP, "schedule": settings.sweep_interval_s},
            # Re-sends webhook deliveries whose message was lost or whose sender died.
            "sweep-webhooks": {"task": WEBHOOKS_SWEEP, "schedule": settings.sweep_interval_s},
        },
    )
    return app
