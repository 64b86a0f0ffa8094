"""Tortoise configuration, shared by the API, the worker and aerich."""

from __future__ import annotations

from typing import Any

from shared.settings import get_settings

MODEL_MODULES = ["shared.db.models", "aerich.models"]


def tortoise_config(database_url: str | None = None) -> dict[str, Any]:
    return {
        "connections": {"default": database_url or get_settings().database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


# aerich reads this name (see [tool.aerich] in pyproject.toml).
TORTOISE_ORM = tortoise_config()
