from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.schemas import PasswordChange, SignupCreate, TokenPair, TokenRefresh
from api.deps import CurrentUser
from api.users.schemas import UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(data: SignupCreate) -> UserRead:
    return UserRead.from_model(await service.signup(data))


@router.post("/signin")
async def signin(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenPair:
    user = await service.authenticate(form.username, form.password)
    return await service.issue_pair(user.id)


@router.post("/token-refresh")
async def token_refresh(data: TokenRefresh) -> TokenPair:
    return await service.refresh(data.refresh_token)


@router.post("/password/change", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(data: PasswordChange, user: CurrentUser) -> Response:
    await service.change_password(user, data.current_password, data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
