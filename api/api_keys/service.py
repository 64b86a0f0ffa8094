"""API keys: created with a random secret shown once, stored as an HMAC, revoked at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import Request

from api.api_keys.schemas import ApiKeyCreated, ApiKeyList, ApiKeyRead
from api.audit import audit
from shared.db.models import ApiKey, User
from shared.errors import AuthenticationError, NotFoundError
from shared.repositories import api_keys as repo
from shared.settings import get_settings

KEY_PREFIX = "vk_"
SHOWN_PREFIX_LENGTH = 11
# last_used_at is a hint for the owner, not a log: one write a minute per key is enough.
TOUCH_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """HMAC-SHA256 under the server secret: a stolen table alone cannot be checked against
    guesses. (Rotating VIGIL_SECRET_KEY therefore invalidates every key.)"""
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


async def create(request: Request, user: User, name: str) -> ApiKeyCreated:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = await repo.create(user.id, name, key[:SHOWN_PREFIX_LENGTH], hash_key(key))
    await audit(
        request, "api_key_created", user.id, api_key_id=str(row.id), name=name, prefix=row.prefix
    )
    return ApiKeyCreated(**ApiKeyRead.from_model(row).model_dump(), key=key)


async def list_keys(user: User) -> ApiKeyList:
    items = [ApiKeyRead.from_model(key) for key in await repo.list_for(user.id)]
    return ApiKeyList(items=items, total=len(items))


async def revoke(request: Request, user: User, key_id: UUID) -> None:
    """Idempotent; only the call that revoked the key records it."""
    key = await repo.get_owned(user.id, key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found")
    if await repo.revoke(key.id, datetime.now(UTC)):
        await audit(
            request,
            "api_key_revoked",
            user.id,
            api_key_id=str(key.id),
            name=key.name,
            prefix=key.prefix,
        )


async def authenticate(key_hash: str) -> ApiKey:
    """The live key (owner fetched) with this `hash_key`; looked up on every request, so a
    revocation takes effect on the next one."""
    found = await repo.get_live_by_hash(key_hash)
    if found is None:
        raise AuthenticationError("invalid API key")
    return found


async def mark_used(key: ApiKey) -> None:
    now = datetime.now(UTC)
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        await repo.touch(key.id, now, now - TOUCH_EVERY)
