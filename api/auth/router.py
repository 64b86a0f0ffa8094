from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.schemas import PasswordChange, SignupCreate, TokenPair, TokenRefresh
from api.deps import CurrentUser
from api.ratelimit import limit_auth_by_ip, limit_signin_for_account
from api.users.schemas import UserRead

router = APIRouter(prefix="/auth", tags=["auth"])

# Sign-up, sign-in and refresh share a low per-address limit: the brute-force guard.
AUTH_LIMIT = [Depends(limit_auth_by_ip)]
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many attempts; see Retry-After"}
}


@router.post(
    "/signup", status_code=status.HTTP_201_CREATED, dependencies=AUTH_LIMIT, responses=TOO_MANY
)
async def signup(data: SignupCreate, request: Request) -> UserRead:
    return UserRead.from_model(await service.signup(request, data))


@router.post("/signin", dependencies=AUTH_LIMIT, responses=TOO_MANY)
async def signin(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request
) -> TokenPair:
    await limit_signin_for_account(request, form.username)
    user = await service.authenticate(request, form.username, form.password)
    return await service.issue_pair(user.id)


@router.post("/token-refresh", dependencies=AUTH_LIMIT, responses=TOO_MANY)
async def token_refresh(data: TokenRefresh, request: Request) -> TokenPair:
    return await service.refresh(request, data.refresh_token)


@router.post("/password/change", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(data: PasswordChange, request: Request, user: CurrentUser) -> Response:
    await service.change_password(request, user, data.current_password, data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
