"""Account queries of the operators' command line (api/admin.py); the API's own are in users."""

from __future__ import annotations

from uuid import UUID

from shared.db.models import User


async def list_all() -> list[User]:
    """Every account, oldest first."""
    return list(await User.all().order_by("created_at", "id"))


async def set_active(email: str, active: bool) -> bool:
    """False when there is no such account."""
    return bool(await User.filter(email=email.lower()).update(is_active=active))


async def set_superuser(user_id: UUID) -> None:
    await User.filter(id=user_id).update(is_superuser=True)
