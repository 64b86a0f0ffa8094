"""Security events into the audit table, with the client's address.

The address is the socket peer as uvicorn reports it. Behind a reverse proxy run uvicorn with
`--proxy-headers --forwarded-allow-ips=<the proxy's address>` so that it becomes the real
client; X-Forwarded-For is never read here, since any client can send one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request

from shared.repositories import audit as repo


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def audit(request: Request, action: str, user_id: UUID | None, **details: Any) -> None:
    await repo.record(action, user_id, client_ip(request), **details)
