"""The API's connections to Postgres and Redis, with timeouts: a dependency that is down or
stops answering costs a request a bounded wait and a 503 (api/errors.py), never a hang."""

from __future__ import annotations

from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from shared.db.config import tortoise_config
from shared.settings import Settings

# Postgres connections each API process may open.
API_POOL_SIZE = 10


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


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg's reset on returning a connection to the pool, less its session-state query.

    Tortoise takes a pooled connection for each query, and asyncpg's default reset then runs
    `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on it: one more round trip
    for every query, about as costly as the query itself. The API holds no session state to
    undo (no session advisory locks, cursors kept open, LISTEN or SET), and what a connection
    does need, the rollback of a transaction left open, asyncpg does before calling this."""


def database_config(settings: Settings) -> dict[str, Any]:
    config = tortoise_config(command_timeout_s=settings.db_command_timeout_s)
    credentials = config["connections"]["default"]["credentials"]
    credentials["reset"] = _keep_session
    # Enough for the requests one process has in flight under load. A request that has to wait
    # for a connection can be passed over again and again (asyncpg's pool queue lets a newcomer
    # take a connection just released to a waiter, and the waiter queues anew): with
    # Tortoise's 5, status polls at 2,000 a second had a p99 of 50-90 ms; with 10, 25 ms.
    # `?maxsize=` in VIGIL_DATABASE_URL wins.
    credentials.setdefault("maxsize", API_POOL_SIZE)
    return config
