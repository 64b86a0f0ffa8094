from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from shared.db.models import RefreshToken, User


async def get_by_email(email: str) -> User | None:
    return await User.get_or_none(email=email.lower())


async def get_active(user_id: UUID) -> User | None:
    return await User.get_or_none(id=user_id, is_active=True)


async def create(email: str, password_hash: str, full_name: str | None) -> User:
    return await User.create(email=email.lower(), password_hash=password_hash, full_name=full_name)


async def update_profile(user: User, changes: dict[str, Any]) -> User:
    if changes:
        user.update_from_dict(changes)
        await user.save(update_fields=[*changes, "updated_at"])
    return user


async def add_refresh_token(
    jti: UUID, user_id: UUID, family_id: UUID, expires_at: datetime
) -> None:
    await RefreshToken.create(jti=jti, user_id=user_id, family_id=family_id, expires_at=expires_at)


async def use_refresh_token(jti: UUID, user_id: UUID, now: datetime) -> RefreshToken | None:
    """Mark a live token used, exactly once; None when it is unknown, used, revoked or expired."""
    updated = await RefreshToken.filter(
        jti=jti, user_id=user_id, used_at=None, revoked_at=None, expires_at__gt=now
    ).update(used_at=now)
    if not updated:
        return None
    return await RefreshToken.get(jti=jti)


async def get_refresh_token(jti: UUID) -> RefreshToken | None:
    return await RefreshToken.get_or_none(jti=jti)


async def revoke_family(family_id: UUID, now: datetime) -> None:
    await RefreshToken.filter(family_id=family_id, revoked_at=None).update(revoked_at=now)


async def change_password(user: User, password_hash: str, now: datetime) -> None:
    async with in_transaction():
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        await RefreshToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now)
