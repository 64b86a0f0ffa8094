"""Security events into the audit table, with the client's address.

The address is the socket peer as uvicorn reports it. Behind a reverse proxy run uvicorn with
`--proxy-headers --forwarded-allow-ips=<the proxy's address>` so that it becomes the real
client; X-Forwarded-For is never read here, since any client can send one.

An action taken with an API key names it in `via_api_key_id` (api/deps.py notes the caller), so
what a leaked key did can be told from what its owner did."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request

from shared.repositories import audit as repo


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def audit(request: Request, action: str, user_id: UUID | None, **details: Any) -> None:
    via_api_key_id: str | None = getattr(request.state, "api_key_id", None)
    if via_api_key_id:
        details["via_api_key_id"] = via_api_key_id
    await repo.record(action, user_id, client_ip(request), **details)
