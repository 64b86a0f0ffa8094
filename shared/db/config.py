"""Tortoise configuration, shared by the API, the worker and aerich."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from shared.settings import get_settings

MODEL_MODULES = ["shared.db.models", "aerich.models"]


def tortoise_config(
    database_url: str | None = None, *, command_timeout_s: float | None = None
) -> dict[str, Any]:
    """`command_timeout_s` bounds each statement (the API's requests); migrations and the
    worker's batches go without. A URL's own `timeout`/`command_timeout` parameters win."""
    settings = get_settings()
    connection = expand_db_url(database_url or settings.database_url)
    credentials: dict[str, Any] = connection["credentials"]
    # asyncpg waits 60 s to connect by default: an unreachable server would hold each
    # request that long.
    credentials.setdefault("timeout", settings.db_connect_timeout_s)
    if command_timeout_s is not None:
        credentials.setdefault("command_timeout", command_timeout_s)
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


# aerich reads this name (see [tool.aerich] in pyproject.toml).
TORTOISE_ORM = tortoise_config()
