"""The API's connections to Postgres and Redis, with timeouts: a dependency that is down or
stops answering costs a request a bounded wait and a 503 (api/errors.py), never a hang."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from shared.db.config import tortoise_config
from shared.settings import Settings


def redis_client(settings: Settings, url: str | None = None) -> aioredis.Redis:
    """A client of VIGIL_REDIS_URL, or of `url`."""
    timeout_s = settings.redis_timeout_s
    return aioredis.Redis.from_url(
        url or settings.redis_url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        # One retry replaces a pooled connection that a Redis restart closed; redis-py's
        # default of three turns one unanswered command into four timeouts.
        retry=Retry(ExponentialWithJitterBackoff(), 1),
    )


def database_config(settings: Settings) -> dict[str, Any]:
    return tortoise_config(command_timeout_s=settings.db_command_timeout_s)
