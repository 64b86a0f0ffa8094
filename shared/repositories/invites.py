"""Sign-up invite queries: made by operators (api/admin.py), used once by POST /auth/signup."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.db.models import Invite


async def create(code_hash: str, expires_at: datetime) -> Invite:
    return await Invite.create(code_hash=code_hash, expires_at=expires_at)


async def claim(code_hash: str, now: datetime) -> UUID | None:
    """Mark the unused, unexpired invite with this hash used, exactly once (one conditional
    UPDATE, so two sign-ups racing for one code cannot both win); its id, or None."""
    claimed = await Invite.filter(code_hash=code_hash, used_at=None, expires_at__gt=now).update(
        used_at=now
    )
    if not claimed:
        return None
    invite = await Invite.get(code_hash=code_hash)
    return invite.id


async def record_user(invite_id: UUID, user_id: UUID) -> None:
    await Invite.filter(id=invite_id).update(used_by_id=user_id)
