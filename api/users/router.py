from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.users.schemas import UserRead, UserUpdate
from shared.repositories import users as repo

router = APIRouter(prefix="/me", tags=["users"])


@router.get("")
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.from_model(user)


@router.patch("")
async def update_me(data: UserUpdate, user: CurrentUser) -> UserRead:
    changes = data.model_dump(exclude_unset=True)
    return UserRead.from_model(await repo.update_profile(user, changes))
