"""API keys: created with a random secret shown once, stored as an HMAC, limited to scopes,
optionally expiring, revoked at once together with the keys made with them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import Request

from api.api_keys import scopes
from api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from api.audit import audit
from api.webrtc import service as live_view
from shared.db.models import ApiKey, User
from shared.errors import AuthenticationError, ForbiddenError, NotFoundError
from shared.keys import KeyPurpose, derived_key
from shared.repositories import api_keys as repo
from shared.settings import get_settings

KEY_PREFIX = "vk_"
SHOWN_PREFIX_LENGTH = 11
# last_used_at is a hint for the owner, not a log: one write a minute per key is enough.
TOUCH_EVERY = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """HMAC-SHA256 under a key derived from the server secret for this use alone: a stolen
    table cannot be checked against guesses. (Rotating VIGIL_SECRET_KEY therefore invalidates
    every key.)"""
    secret = derived_key(KeyPurpose.API_KEY_HASHING)
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def legacy_hash_key(key: str) -> str:
    """The hash keys made before per-purpose keys were stored under: HMAC-SHA256 under the raw
    server secret. Such a key is re-hashed the first time it is used (`authenticate`)."""
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


async def create(
    request: Request, user: User, data: ApiKeyCreate, maker: ApiKey | None
) -> ApiKeyCreated:
    """A new key for `user`, made with a bearer token or with the key `maker`, which cannot
    give it scopes it lacks or a longer life than its own."""
    granted = scopes.DEFAULT if data.scopes is None else scopes.normalise(data.scopes)
    expires_at = data.expires_at
    if maker is not None:
        _check_within(maker, granted)
        expires_at = _expiry_within(maker, expires_at)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    new = repo.NewKey(
        owner_id=user.id,
        name=data.name,
        prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_key(key),
        scopes=scopes.dump(granted),
        expires_at=expires_at,
        created_by_key_id=maker.id if maker else None,
    )
    row = await repo.create(new, datetime.now(UTC))
    details: dict[str, object] = {"scopes": scopes.parse(row.scopes)}
    if row.expires_at is not None:
        details["expires_at"] = row.expires_at.isoformat()
    await audit(
        request,
        "api_key_created",
        user.id,
        api_key_id=str(row.id),
        name=row.name,
        prefix=row.prefix,
        **details,
    )
    return ApiKeyCreated(**ApiKeyRead.from_model(row).model_dump(), key=key)


def _check_within(maker: ApiKey, granted: frozenset[scopes.Scope]) -> None:
    missing = granted - set(scopes.parse(maker.scopes))
    if missing:
        names = ", ".join(f"`{scope}`" for scope in scopes.ORDER if scope in missing)
        raise ForbiddenError(f"an API key cannot make a key with scopes it lacks: {names}")


def _expiry_within(maker: ApiKey, requested: datetime | None) -> datetime | None:
    if maker.expires_at is None:
        return requested
    if requested is None:
        return maker.expires_at
    if requested > maker.expires_at:
        raise ForbiddenError(
            "an API key cannot make a key that outlives it: this one expires at "
            f"{maker.expires_at.isoformat()}"
        )
    return requested


async def list_keys(user: User, page: int, page_size: int, include_revoked: bool) -> ApiKeyList:
    offset = (page - 1) * page_size
    rows, total = await repo.page_for(user.id, include_revoked, offset, page_size)
    return ApiKeyList(
        items=[ApiKeyRead.from_model(key) for key in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


async def revoke(
    request: Request, user: User, key_id: UUID, caller: ApiKey | None, redis: aioredis.Redis
) -> None:
    """Revokes the key and every key made with it, at any depth, and closes the live view
    sessions opened with them. Idempotent; only the call that revoked a key records it. An API
    key needs `admin` to revoke another key, none to revoke itself: a script can retire its own
    key, and that takes no power from anyone."""
    if caller is not None and caller.id != key_id and "admin" not in scopes.parse(caller.scopes):
        raise ForbiddenError("this API key lacks the `admin` scope")
    key = await repo.get_owned(user.id, key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found")
    revoked_keys = await repo.revoke_tree(user.id, key.id, datetime.now(UTC))
    for revoked in revoked_keys:
        # A key made with it names the key whose revocation took it along.
        along = {} if revoked.id == key.id else {"revoked_with_api_key_id": str(key.id)}
        await audit(
            request,
            "api_key_revoked",
            user.id,
            api_key_id=str(revoked.id),
            name=revoked.name,
            prefix=revoked.prefix,
            **along,
        )
    ended = {key.id, *(revoked.id for revoked in revoked_keys)}
    await live_view.end_sessions_of_credentials(
        redis, user.id, live_view.opened_with_keys(ended), "API key revoked"
    )


async def authenticate(key: str, key_hash: str) -> ApiKey:
    """The live key (owner fetched) with `key_hash`, its `hash_key`; looked up on every
    request, so a revocation takes effect on the next one. A key stored under its legacy hash
    is moved to the current one as it is found, so keys made before an upgrade keep working."""
    found = await repo.get_live_by_hash(key_hash)
    if found is None:
        legacy = legacy_hash_key(key)
        found = await repo.get_live_by_hash(legacy)
        if found is not None:
            await repo.rehash(found.id, legacy, key_hash)
    if found is None:
        raise AuthenticationError("invalid API key")
    if found.expires_at is not None and found.expires_at <= datetime.now(UTC):
        raise AuthenticationError(
            f"this API key expired at {found.expires_at.isoformat()}; make a new one"
        )
    return found


async def mark_used(key: ApiKey) -> None:
    now = datetime.now(UTC)
    if key.last_used_at is None or key.last_used_at < now - TOUCH_EVERY:
        await repo.touch(key.id, now, now - TOUCH_EVERY)
