"""The aerich migrations and the ORM models describe the same schema."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aerich import Command
from tortoise import Tortoise

from shared.db.config import tortoise_config
from shared.ops.migrate import MIGRATIONS_DIR, ensure_database, migrate

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

SCHEMA_SQL = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable, character_maximum_length
                  FROM information_schema.columns WHERE table_schema = 'public'
                  ORDER BY 1, 2""",
    "indexes": """SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'
                  ORDER BY 1, 2""",
    "constraints": """SELECT tc.table_name, tc.constraint_type, kcu.column_name,
                         rc.delete_rule
                      FROM information_schema.table_constraints tc
                      JOIN information_schema.key_column_usage kcu
                        ON tc.constraint_name = kcu.constraint_name
                      LEFT JOIN information_schema.referential_constraints rc
                        ON tc.constraint_name = rc.constraint_name
                      WHERE tc.table_schema = 'public' ORDER BY 1, 2, 3""",
}


def _url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


async def _schema(name: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(_url(name).replace("postgres://", "postgresql://"))
    try:
        return {
            key: [tuple(row) for row in await conn.fetch(sql) if "aerich" not in str(row[0])]
            for key, sql in SCHEMA_SQL.items()
        }
    finally:
        await conn.close()


async def _generated(name: str) -> None:
    await ensure_database(_url(name))
    await Tortoise.init(config=tortoise_config(_url(name)))
    try:
        await Tortoise.generate_schemas()
    finally:
        await Tortoise.close_connections()


async def _drop(*names: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    names = (f"vigil_mig_{uuid.uuid4().hex[:8]}", f"vigil_gen_{uuid.uuid4().hex[:8]}")
    yield names
    asyncio.run(_drop(*names))


def test_migrations_build_the_schema_the_models_describe(databases: tuple[str, str]) -> None:
    migrated, generated = databases
    applied = asyncio.run(migrate(_url(migrated)))
    assert applied, "no migration was applied to an empty database"
    assert asyncio.run(migrate(_url(migrated))) == []  # idempotent
    asyncio.run(_generated(generated))
    assert asyncio.run(_schema(migrated)) == asyncio.run(_schema(generated))


def test_models_have_no_change_missing_a_migration(tmp_path: Path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, location)

    async def detect() -> str:
        command = Command(tortoise_config(), app="models", location=str(location))
        try:
            await command.init(offline=True)
            return await command.migrate("check", no_input=True, offline=True)
        finally:
            await Tortoise.close_connections()

    created = asyncio.run(detect())
    assert created == "", f"models changed without a migration; run `aerich migrate` ({created})"
