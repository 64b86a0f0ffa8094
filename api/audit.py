"""Security events into the audit table, with the client's address.

The address is the one api/client_address.py derives (the socket peer, or what a trusted
proxy forwarded for), so the audit trail, the access log and the rate limits agree on it.

An action taken with an API key names it in `via_api_key_id` (api/deps.py notes the caller), so
what a leaked key did can be told from what its owner did."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request

from api.client_address import client_address
from shared.repositories import audit as repo


async def audit(request: Request, action: str, user_id: UUID | None, **details: Any) -> None:
    via_api_key_id: str | None = getattr(request.state, "api_key_id", None)
    if via_api_key_id:
        details["via_api_key_id"] = via_api_key_id
    await repo.record(action, user_id, client_address(request.scope), **details)
