"""Lookups of one row on the API's hottest paths (every authenticated request, every status
poll) as fixed SQL, built once from the model's own columns.

Tortoise builds the SQL of each query anew (pypika) on every call: about 0.2 ms of CPU, more
than Postgres takes to answer a lookup by key. A fixed statement is built once and asyncpg
prepares it once per connection; the row becomes a model the way the ORM's own queries make
one (`Model._init_from_db`: Tortoise's row-to-model step, tortoise-orm is pinned), so callers
get the same object as from `Model.get_or_none`."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


@cache
def select(model: type[Model], where: str, join: str = "") -> str:
    """SELECT of every column of `model`'s table, as `t`, `join`ed, WHERE `where` ($1, $2 ...
    its values)."""
    columns = ", ".join(f't."{column}"' for column in sorted(model._meta.db_fields))
    table = model._meta.db_table
    # Names from the model, a condition and a join from the code; values are always parameters.
    return f'SELECT {columns} FROM "{table}" AS t {join} WHERE {where} LIMIT 1'  # noqa: S608


async def one(model: type[M], where: str, *values: object, join: str = "") -> M | None:
    """The row of `model` matching `where`, or None."""
    _, rows = await model._meta.db.execute_query(select(model, where, join), list(values))
    return model._init_from_db(**rows[0]) if rows else None
