"""API key queries: the owner's (create, list, revoke) and authentication's (by hash)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from shared.db.models import ApiKey, User
from shared.errors import ConflictError

MAX_LIVE_KEYS_PER_USER = 100


async def create(owner_id: UUID, name: str, prefix: str, key_hash: str) -> ApiKey:
    """A new key; ConflictError when the owner already has the most live keys allowed."""
    async with in_transaction() as conn:
        # Locking the owner serialises their concurrent creations, so the count cannot race.
        await User.filter(id=owner_id).using_db(conn).select_for_update().only("id")
        live = await ApiKey.filter(owner_id=owner_id, revoked_at=None).using_db(conn).count()
        if live >= MAX_LIVE_KEYS_PER_USER:
            raise ConflictError(
                f"you have {MAX_LIVE_KEYS_PER_USER} live API keys, the most allowed; "
                "revoke some first"
            )
        return await ApiKey.create(
            owner_id=owner_id, name=name, prefix=prefix, key_hash=key_hash, using_db=conn
        )


async def list_for(owner_id: UUID) -> list[ApiKey]:
    """Every key of the owner, revoked ones included, newest first."""
    return list(await ApiKey.filter(owner_id=owner_id).order_by("-created_at", "-id"))


async def get_owned(owner_id: UUID, key_id: UUID) -> ApiKey | None:
    return await ApiKey.get_or_none(id=key_id, owner_id=owner_id)


async def revoke(key_id: UUID, now: datetime) -> bool:
    """True when this call revoked the key, False when it was revoked already."""
    return bool(await ApiKey.filter(id=key_id, revoked_at=None).update(revoked_at=now))


async def get_live_by_hash(key_hash: str) -> ApiKey | None:
    """The unrevoked key with this hash, its (active) owner fetched with it."""
    return (
        await ApiKey.filter(key_hash=key_hash, revoked_at=None, owner__is_active=True)
        .select_related("owner")
        .first()
    )


async def touch(key_id: UUID, now: datetime, unless_used_since: datetime) -> None:
    """Set last_used_at, unless some request did since `unless_used_since` (one UPDATE that
    concurrent requests cannot turn into several writes)."""
    await ApiKey.filter(
        Q(last_used_at=None) | Q(last_used_at__lt=unless_used_since), id=key_id
    ).update(last_used_at=now)
