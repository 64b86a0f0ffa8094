"""Checks that the settings hold and the services Vigil needs answer, with a message naming the
setting to fix."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis

from shared.configured import PROCESS_CHECKS
from shared.ops.migrate import _maintenance_url
from shared.settings import Settings
from shared.weights import missing_weights_message


class PreflightError(Exception):
    pass


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


async def check_postgres(database_url: str) -> None:
    admin_url, _ = _maintenance_url(database_url)
    try:
        conn = await asyncpg.connect(admin_url, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise PreflightError(
            f"cannot reach PostgreSQL at {redact(database_url)} ({exc}); "
            "start it or set VIGIL_DATABASE_URL"
        ) from exc
    await conn.close()


def check_redis(redis_url: str) -> None:
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise PreflightError(
            f"cannot reach Redis at {redact(redis_url)} ({exc}); start it or set VIGIL_REDIS_URL"
        ) from exc


def check_model(settings: Settings) -> None:
    if not settings.model_path.exists() and not settings.model_name.endswith(".pt"):
        raise PreflightError(missing_weights_message(settings.model_name, settings.model_dir))


def check_settings(settings: Settings) -> None:
    """What each service checks of its settings as it starts, before any is started."""
    for check in PROCESS_CHECKS:
        try:
            check(settings)
        except ValueError as exc:
            raise PreflightError(str(exc)) from exc


def run_preflight(settings: Settings) -> None:
    check_settings(settings)
    asyncio.run(check_postgres(settings.database_url))
    check_redis(settings.redis_url)
    check_model(settings)
