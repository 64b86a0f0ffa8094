"""Create the database if missing and apply aerich migrations (`python -m shared.ops.migrate`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aerich import Command
from tortoise import Tortoise

from shared.db.config import tortoise_config
from shared.settings import get_settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _maintenance_url(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres")), name


async def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL when it does not exist; True if it was created."""
    admin_url, name = _maintenance_url(database_url)
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        # Identifiers cannot be bound as parameters; quote_ident-style escaping instead.
        await conn.execute('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
        return True
    finally:
        await conn.close()


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every migration in `migrations/` that the database has not seen yet."""
    command = Command(
        tortoise_config=tortoise_config(database_url),
        app="models",
        location=str(MIGRATIONS_DIR),
    )
    try:
        await command.init()
        return await command.upgrade(run_in_transaction=True)
    finally:
        await Tortoise.close_connections()


async def migrate(database_url: str) -> list[str]:
    if await ensure_database(database_url):
        logger.info("created database %s", urlsplit(database_url).path.lstrip("/"))
    applied = await apply_migrations(database_url)
    logger.info("migrations applied: %s", ", ".join(applied) or "none (up to date)")
    return applied


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(migrate(get_settings().database_url))


if __name__ == "__main__":
    main()
