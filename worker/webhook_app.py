"""The webhook sender's Celery app (`celery -A worker.webhook_app worker --queues webhooks`).

Light on purpose: only the webhook tasks, no model and no warm-up, so it starts in a second and
a long video never delays a webhook. Its remote-control exchange is its own, so the API's worker
health check and model inventory (broadcasts to the analysis workers) do not count it; its
`inspect ping` still works through this app."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_shutdown

from shared.celery_config import make_celery
from shared.configured import check_webhook_sender_settings
from shared.settings import get_settings
from worker import runtime

check_webhook_sender_settings(get_settings())
app = make_celery("vigil-webhooks")
app.conf.update(
    include=["worker.tasks.webhooks"],
    worker_concurrency=get_settings().webhook_concurrency,
    control_exchange="vigil-webhooks",
)

# httpx logs every request at INFO; the sender logs each attempt with its outcome instead.
logging.getLogger("httpx").setLevel(logging.WARNING)


def _close(**_: Any) -> None:
    runtime.shutdown()


worker_process_shutdown.connect(_close)
