from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, Page, WriteUser
from api.users.schemas import AuditEventList, AuditEventRead, UserRead, UserUpdate
from shared.repositories import audit as audit_repo
from shared.repositories import users as repo

router = APIRouter(prefix="/me", tags=["users"])


@router.get("")
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.from_model(user)


@router.patch("")
async def update_me(data: UserUpdate, user: WriteUser) -> UserRead:
    changes = data.model_dump(exclude_unset=True)
    return UserRead.from_model(await repo.update_profile(user, changes))


@router.get("/audit-events")
async def list_audit_events(
    user: CurrentUser,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AuditEventList:
    """The caller's security events (failed sign-ins, password changes, API keys, webhooks),
    newest first."""
    items, total = await audit_repo.page_for_user(user.id, (page - 1) * page_size, page_size)
    return AuditEventList(
        items=[AuditEventRead.from_model(event) for event in items],
        total=total,
        page=page,
        page_size=page_size,
    )
