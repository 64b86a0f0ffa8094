"""The security audit trail: sign-ins that failed, password changes, keys and webhooks."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db.models import AuditEvent


async def record(action: str, user_id: UUID | None, ip: str | None, **details: Any) -> None:
    await AuditEvent.create(action=action, user_id=user_id, ip=ip, details=details)


async def page_for_user(user_id: UUID, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
    query = AuditEvent.filter(user_id=user_id)
    total = await query.count()
    items = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return list(items), total
