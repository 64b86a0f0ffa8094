"""Where a camera's password could leak, searched for it: every process log of the stack, every
table of its database, every Redis key (the event stream among them), every API answer the
benchmark got, and /metrics. The password is distinctive, so any occurrence is a leak."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import redis

from bench.camera_stack import METRICS_TOKEN, Api


def _blob(values: Iterable[Any]) -> bytes:
    return b"\n".join(v if isinstance(v, bytes) else str(v).encode() for v in values)


@dataclass
class LeakScan:
    secrets: list[str]
    # Place → bytes searched there; `found` holds the places where a secret was.
    searched: dict[str, int] = field(default_factory=dict)
    found: set[str] = field(default_factory=set)

    @property
    def needles(self) -> set[bytes]:
        # As given and as percent-encoded in a URL.
        return {form.encode() for s in self.secrets for form in (s, quote(s, safe=""))}

    def look(self, place: str, data: bytes) -> None:
        self.searched[place] = self.searched.get(place, 0) + len(data)
        if any(needle in data for needle in self.needles):
            self.found.add(place)

    def logs(self, directory: Path) -> None:
        for path in sorted(directory.rglob("*.log")):
            self.look(f"log {path.relative_to(directory)}", path.read_bytes())

    def database(self, database_url: str) -> None:
        asyncio.run(self._database(database_url))

    async def _database(self, database_url: str) -> None:
        conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            for (table,) in tables:
                rows = await conn.fetch(f'SELECT t::text FROM "{table}" AS t')  # noqa: S608
                self.look(f"table {table}", _blob(row[0] for row in rows))
        finally:
            await conn.close()

    def redis(self, redis_url: str) -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            for key in client.scan_iter(count=500):
                self.look(f"redis {_kind(key)}", key + b"\n" + _redis_value(client, key))
        finally:
            client.close()

    def api(self, api: Api, camera_ids: Iterable[str]) -> None:
        """What the API says about the cameras now, then every answer the benchmark got."""
        for path in ("/api/v1/cameras?page_size=100", "/api/cameras?all=1", "/api/health"):
            api.client.get(path)
        for camera_id in camera_ids:
            api.client.get(f"/api/v1/cameras/{camera_id}")
        api.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        self.look("API answers (incl. /metrics)", _blob(api.answers))


def _kind(key: bytes) -> str:
    """The key's family (its name up to the first id), so places stay few and readable."""
    parts = key.decode(errors="replace").split(":")
    return ":".join(part for part in parts[:2] if len(part) < 32) or "(other keys)"


def _redis_value(client: redis.Redis, key: bytes) -> bytes:
    kind = client.type(key)
    if kind == b"string":
        return _blob([client.get(key) or b""])
    if kind == b"hash":
        return _blob(client.hgetall(key).items())
    if kind == b"list":
        return _blob(client.lrange(key, 0, -1))
    if kind == b"set":
        return _blob(client.smembers(key))
    if kind == b"zset":
        return _blob(client.zrange(key, 0, -1))
    if kind == b"stream":
        entries: Any = client.xrange(key)
        return _blob(fields for _, entry in entries for fields in entry.items())
    return b""
