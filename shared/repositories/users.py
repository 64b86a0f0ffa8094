"""User queries, and the refresh-token chains (families) of their sign-ins.

Every change to a family (a rotation, a reuse, a sign-out) locks the family's row first, so
they happen one after another: a rotation that loses to a revocation issues nothing, and one
that wins has inserted its successor before the revocation runs and revokes it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from shared.db.models import RefreshFamily, RefreshToken, User
from shared.repositories import api_keys, lookups


async def get_by_email(email: str) -> User | None:
    return await User.get_or_none(email=email.lower())


async def get_active(user_id: UUID) -> User | None:
    # Asked on every authenticated request: fixed SQL (shared/repositories/lookups.py).
    return await lookups.one(User, 't."id" = $1 AND t."is_active"', user_id)


async def create(email: str, password_hash: str, full_name: str | None) -> User:
    return await User.create(email=email.lower(), password_hash=password_hash, full_name=full_name)


async def update_profile(user: User, changes: dict[str, Any]) -> User:
    if changes:
        user.update_from_dict(changes)
        await user.save(update_fields=[*changes, "updated_at"])
    return user


@dataclass(frozen=True)
class NewRefreshToken:
    jti: UUID
    expires_at: datetime


async def start_family(
    user_id: UUID, family_id: UUID, family_expires_at: datetime, first: NewRefreshToken
) -> None:
    """A new sign-in: its family, ending at `family_expires_at`, and its first refresh token."""
    async with in_transaction() as conn:
        await RefreshFamily.create(
            id=family_id, user_id=user_id, expires_at=family_expires_at, using_db=conn
        )
        await RefreshToken.create(
            jti=first.jti,
            user_id=user_id,
            family_id=family_id,
            expires_at=min(first.expires_at, family_expires_at),
            using_db=conn,
        )


class Rotation(StrEnum):
    ROTATED = "rotated"
    # The token had been used or revoked already: the family is revoked now (it may be stolen).
    REUSED = "reused"
    # Unknown, expired, or of a family that was revoked or has reached its end.
    INVALID = "invalid"


@dataclass(frozen=True)
class RotationResult:
    outcome: Rotation
    family_id: UUID | None = None
    # The successor's expiry, capped at the family's end.
    expires_at: datetime | None = None


async def _lock_family(family_id: UUID, conn: BaseDBAsyncClient) -> RefreshFamily | None:
    return await RefreshFamily.filter(id=family_id).using_db(conn).select_for_update().first()


async def _revoke_locked_family(family_id: UUID, now: datetime, conn: BaseDBAsyncClient) -> None:
    await RefreshFamily.filter(id=family_id, revoked_at=None).using_db(conn).update(revoked_at=now)
    await (
        RefreshToken.filter(family_id=family_id, revoked_at=None)
        .using_db(conn)
        .update(revoked_at=now)
    )


async def rotate_refresh_token(
    jti: UUID, user_id: UUID, now: datetime, successor: NewRefreshToken
) -> RotationResult:
    """Use the refresh token `jti` once and insert its successor, or find out why not."""
    async with in_transaction() as conn:
        token = await RefreshToken.filter(jti=jti, user_id=user_id).using_db(conn).first()
        if token is None:
            return RotationResult(Rotation.INVALID)
        family = await _lock_family(token.family_id, conn)
        if family is None or family.revoked_at is not None or family.expires_at <= now:
            return RotationResult(Rotation.INVALID, token.family_id)
        # Read again under the family's lock: a concurrent rotation may have used it.
        await token.refresh_from_db(using_db=conn)
        if token.used_at is not None or token.revoked_at is not None:
            await _revoke_locked_family(family.id, now, conn)
            return RotationResult(Rotation.REUSED, family.id)
        if token.expires_at <= now:
            return RotationResult(Rotation.INVALID, family.id)
        token.used_at = now
        await token.save(update_fields=["used_at"], using_db=conn)
        expires_at = min(successor.expires_at, family.expires_at)
        await RefreshToken.create(
            jti=successor.jti,
            user_id=user_id,
            family_id=family.id,
            expires_at=expires_at,
            using_db=conn,
        )
        return RotationResult(Rotation.ROTATED, family.id, expires_at)


async def revoke_family_of(jti: UUID, user_id: UUID, now: datetime) -> UUID | None:
    """Sign-out: revoke the family of the refresh token `jti`; its id, None when unknown."""
    async with in_transaction() as conn:
        token = await RefreshToken.filter(jti=jti, user_id=user_id).using_db(conn).first()
        if token is None:
            return None
        if await _lock_family(token.family_id, conn) is not None:
            await _revoke_locked_family(token.family_id, now, conn)
        return token.family_id


async def _end_sessions(user_id: UUID, now: datetime, conn: BaseDBAsyncClient) -> None:
    """Revoke every family and refresh token of the user and retire every access token issued
    so far (the token version moves on), within the caller's transaction."""
    await User.filter(id=user_id).using_db(conn).update(token_version=F("token_version") + 1)
    await (
        RefreshFamily.filter(user_id=user_id, revoked_at=None).using_db(conn).update(revoked_at=now)
    )
    await (
        RefreshToken.filter(user_id=user_id, revoked_at=None).using_db(conn).update(revoked_at=now)
    )


async def _lock_user(user_id: UUID, conn: BaseDBAsyncClient) -> None:
    # The same order as the API-key queries (owner first), so the two never deadlock.
    await User.filter(id=user_id).using_db(conn).select_for_update().only("id")


async def end_all_sessions(user_id: UUID, now: datetime) -> None:
    """Sign out everywhere."""
    async with in_transaction() as conn:
        await _lock_user(user_id, conn)
        await _end_sessions(user_id, now, conn)


async def change_password(
    user: User, password_hash: str, now: datetime, revoke_api_keys: bool
) -> int:
    """The new hash, and every session ended, in one transaction; with `revoke_api_keys` the
    user's API keys too. How many keys it revoked."""
    async with in_transaction() as conn:
        await _lock_user(user.id, conn)
        await (
            User.filter(id=user.id)
            .using_db(conn)
            .update(password_hash=password_hash, updated_at=now)
        )
        await _end_sessions(user.id, now, conn)
        revoked = await api_keys.revoke_all_for(user.id, now, conn) if revoke_api_keys else 0
    user.password_hash = password_hash
    return revoked
