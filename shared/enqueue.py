"""Enqueue work by task name: the API never imports the worker package."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from uuid import UUID

from celery import Celery
from celery.app.control import Control
from kombu.exceptions import OperationalError

from shared.celery_config import make_celery
from shared.contracts import IMAGE_ANALYZE, VIDEO_ANALYZE, WEBHOOK_DELIVER, JobPayload
from shared.db.enums import JobKind
from shared.settings import get_settings

logger = logging.getLogger(__name__)

TASK_FOR_KIND = {JobKind.IMAGE: IMAGE_ANALYZE, JobKind.VIDEO: VIDEO_ANALYZE}


@lru_cache
def celery_client() -> Celery:
    app = make_celery("vigil-client")
    # The client only publishes and reads short control replies: a broker socket that stops
    # answering must fail the call, not hold its thread for ever.
    timeout_s = get_settings().broker_timeout_s
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
    }
    return app


@lru_cache
def _control() -> Control:
    """Celery's remote control with a mailbox that publishes on the connection each call is
    handed. Celery's own mailbox borrows a producer, and with it a second connection, from the
    app's pool while the call already holds one: as many concurrent broadcasts as the pool has
    connections then wait on each other for ever."""
    app = celery_client()
    control = Control(app)
    conf = app.conf
    control.mailbox = control.Mailbox(
        conf.control_exchange,
        type="fanout",
        accept=conf.accept_content,
        serializer=conf.task_serializer,
        producer_pool=None,
        queue_ttl=conf.control_queue_ttl,
        reply_queue_ttl=conf.control_queue_ttl,
        queue_expires=conf.control_queue_expires,
        queue_exclusive=conf.control_queue_exclusive,
        queue_durable=conf.control_queue_durable,
        reply_queue_expires=conf.control_queue_expires,
    )
    return control


def broadcast(command: str, reply_window_s: float) -> list[dict[str, Any]]:
    """Send a control command to every worker and collect the replies that arrive within
    `reply_window_s`, on a broker connection of its own (never one of the pool's). Blocking;
    OperationalError when the broker cannot be reached within VIGIL_BROKER_TIMEOUT_S."""
    with celery_client().connection_for_write() as connection:
        replies = _control().broadcast(
            command, connection=connection, reply=True, timeout=reply_window_s
        )
    return list(replies or [])


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
