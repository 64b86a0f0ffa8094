"""Publishes job events on Redis pub/sub. Events are a convenience for live listeners;
Postgres stays the record, so a failed publish is logged and ignored."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any
from uuid import UUID

import redis

from shared.events import encode_event, job_channel
from shared.settings import get_settings

logger = logging.getLogger(__name__)


@lru_cache
def _client(pid: int) -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url, socket_timeout=2)


def publish(job_id: UUID, event: str, **data: Any) -> None:
    try:
        _client(os.getpid()).publish(job_channel(job_id), encode_event(event, job_id, **data))
    except redis.RedisError:
        logger.warning("could not publish %s for job %s", event, job_id, exc_info=True)
