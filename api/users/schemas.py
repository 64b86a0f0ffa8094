from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.text import ShortText
from shared.db.models import AuditEvent, User


class UserRead(BaseModel):
    id: UUID
    email: str
    full_name: str | None
    is_active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            is_active=user.is_active,
            created_at=user.created_at,
        )


class UserUpdate(BaseModel):
    """Profile fields only: anything else (email, is_superuser, ...) is refused with 422."""

    model_config = ConfigDict(extra="forbid")

    full_name: ShortText | None = None


class AuditEventRead(BaseModel):
    id: int
    action: str = Field(examples=["signin_failed"])
    ip: str | None = Field(description="the client's address as the API saw it")
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_model(cls, event: AuditEvent) -> AuditEventRead:
        return cls(
            id=event.id,
            action=event.action,
            ip=event.ip,
            details=dict(event.details),
            created_at=event.created_at,
        )


class AuditEventList(BaseModel):
    items: list[AuditEventRead]
    total: int
    page: int
    page_size: int
