"""API key queries: the owner's (create, list, revoke) and authentication's (by hash).

Creating and revoking both lock the owner's row first, so a key being made with a key that is
being revoked either sees the revocation (and is refused) or is made before it (and is revoked
with it): a key can never outlive the key it was made with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from shared.db.models import ApiKey, User
from shared.errors import AuthenticationError, ConflictError

MAX_LIVE_KEYS_PER_USER = 100


@dataclass(frozen=True)
class NewKey:
    owner_id: UUID
    name: str
    prefix: str
    key_hash: str
    scopes: str
    expires_at: datetime | None
    created_by_key_id: UUID | None


@dataclass(frozen=True)
class RevokedKey:
    id: UUID
    name: str
    prefix: str


def _live(now: datetime) -> Q:
    return Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=now))


async def _lock_owner(owner_id: UUID, conn: BaseDBAsyncClient) -> None:
    await User.filter(id=owner_id).using_db(conn).select_for_update().only("id")


async def create(new: NewKey, now: datetime) -> ApiKey:
    """A new key; ConflictError when the owner already has the most live keys allowed,
    AuthenticationError when the key it is made with was revoked meanwhile."""
    async with in_transaction() as conn:
        await _lock_owner(new.owner_id, conn)
        if new.created_by_key_id is not None:
            maker = ApiKey.filter(id=new.created_by_key_id, revoked_at=None)
            if not await maker.using_db(conn).exists():
                raise AuthenticationError("invalid API key")
        live = await ApiKey.filter(_live(now), owner_id=new.owner_id).using_db(conn).count()
        if live >= MAX_LIVE_KEYS_PER_USER:
            raise ConflictError(
                f"you have {MAX_LIVE_KEYS_PER_USER} live API keys, the most allowed; "
                "revoke some first"
            )
        return await ApiKey.create(
            owner_id=new.owner_id,
            name=new.name,
            prefix=new.prefix,
            key_hash=new.key_hash,
            scopes=new.scopes,
            expires_at=new.expires_at,
            created_by_key_id=new.created_by_key_id,
            using_db=conn,
        )


async def page_for(
    owner_id: UUID, include_revoked: bool, offset: int, limit: int
) -> tuple[list[ApiKey], int]:
    """A page of the owner's keys, newest first, and how many there are."""
    query = ApiKey.filter(owner_id=owner_id)
    if not include_revoked:
        query = query.filter(revoked_at=None)
    total = await query.count()
    items = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return list(items), total


async def get_owned(owner_id: UUID, key_id: UUID) -> ApiKey | None:
    return await ApiKey.get_or_none(id=key_id, owner_id=owner_id)


# The key and, recursively, every key made with it (owner_id keeps the walk on the owner's
# index); UNION rather than UNION ALL stops at rows already seen.
REVOKE_TREE_SQL = """
WITH RECURSIVE tree AS (
    SELECT id FROM api_keys WHERE id = $1 AND owner_id = $2
    UNION
    SELECT k.id FROM api_keys k JOIN tree t ON k.created_by_key_id = t.id WHERE k.owner_id = $2
)
UPDATE api_keys SET revoked_at = $3
WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
RETURNING id, name, prefix
"""


async def revoke_tree(owner_id: UUID, key_id: UUID, now: datetime) -> list[RevokedKey]:
    """Revoke the key and every live key made with it, at any depth; the keys this call
    revoked (none when they all were already)."""
    async with in_transaction() as conn:
        await _lock_owner(owner_id, conn)
        _, rows = await conn.execute_query(REVOKE_TREE_SQL, [key_id, owner_id, now])
    return [RevokedKey(id=row["id"], name=row["name"], prefix=row["prefix"]) for row in rows]


async def get_live_by_hash(key_hash: str) -> ApiKey | None:
    """The unrevoked key with this hash, its (active) owner fetched with it; expiry is the
    caller's to check, so that it can say so."""
    return (
        await ApiKey.filter(key_hash=key_hash, revoked_at=None, owner__is_active=True)
        .select_related("owner")
        .first()
    )


async def rehash(key_id: UUID, old_hash: str, new_hash: str) -> None:
    """Store a key under `new_hash` in place of `old_hash` (a no-op once another request did)."""
    await ApiKey.filter(id=key_id, key_hash=old_hash).update(key_hash=new_hash)


async def touch(key_id: UUID, now: datetime, unless_used_since: datetime) -> None:
    """Set last_used_at, unless some request did since `unless_used_since` (one UPDATE that
    concurrent requests cannot turn into several writes)."""
    await ApiKey.filter(
        Q(last_used_at=None) | Q(last_used_at__lt=unless_used_since), id=key_id
    ).update(last_used_at=now)


async def revoke_all_for(owner_id: UUID, now: datetime, conn: BaseDBAsyncClient) -> int:
    """Revoke every live key of the owner within the caller's transaction, which holds the
    owner's row locked (a password change that ends the keys with it); how many it revoked."""
    revoked: int = (
        await ApiKey.filter(owner_id=owner_id, revoked_at=None)
        .using_db(conn)
        .update(revoked_at=now)
    )
    return revoked


async def is_live(key_id: UUID, now: datetime) -> bool:
    """Whether the key still authenticates (unrevoked, unexpired, its owner active): a stream
    opened with it ends once it does not."""
    return await ApiKey.filter(_live(now), id=key_id, owner__is_active=True).exists()
