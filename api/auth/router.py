from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from api.auth import browser, service
from api.auth.form import FORM_TYPE, OPENAPI_BODY, SigninForm, signin_form
from api.auth.schemas import PasswordChange, SignupCreate, TokenPair, TokenRefresh
from api.deps import AdminUser, CurrentUser, RedisClient
from api.invites import service as invites
from api.openapi import raises
from api.ratelimit import limit_auth_by_ip
from api.users.schemas import UserRead


async def no_store(response: Response) -> None:
    """Token answers must not be kept by browsers or proxies (RFC 6749 section 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(no_store)])

# Sign-up, sign-in, refresh and sign-out share a low per-address limit: the brute-force guard.
AUTH_LIMIT = [Depends(limit_auth_by_ip)]
TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many attempts; see Retry-After"}
}


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    dependencies=AUTH_LIMIT,
    responses={
        **TOO_MANY,
        403: {"description": "sign-up is closed, or needs a valid unused invite code"},
    },
)
@raises(409)
async def signup(data: SignupCreate, request: Request) -> UserRead:
    """Open to anyone, to holders of an invite code, or to no one, as the server's operator
    chose (VIGIL_SIGNUP)."""
    user = await invites.admit(data.invite_code, lambda: service.signup(request, data))
    return UserRead.from_model(user)


@router.post(
    "/signin",
    dependencies=AUTH_LIMIT,
    responses={
        **TOO_MANY,
        415: {"description": f"the body is not {FORM_TYPE}"},
    },
    openapi_extra=OPENAPI_BODY,
)
@raises(401)
async def signin(form: Annotated[SigninForm, Depends(signin_form)], request: Request) -> TokenPair:
    """OAuth2's password grant: `username` (the e-mail address) and `password` as a form
    (`application/x-www-form-urlencoded`; other body types get 415)."""
    user = await service.authenticate(request, form)
    return await service.start_session(user)


@router.post("/token-refresh", dependencies=AUTH_LIMIT, responses=TOO_MANY)
@raises(401)
async def token_refresh(data: TokenRefresh, request: Request) -> TokenPair:
    return await service.refresh(request, data.refresh_token)


@router.post(
    "/signout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=AUTH_LIMIT,
    responses=TOO_MANY,
)
@raises(401)
async def signout(data: TokenRefresh, request: Request) -> Response:
    """End the session this refresh token belongs to: it and every token rotated from the same
    sign-in stop working. Access tokens already issued run out on their own
    (VIGIL_ACCESS_TOKEN_TTL_S)."""
    await service.signout(request, data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/signout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={403: {"description": "called with an API key rather than a bearer token"}},
)
async def signout_all(request: Request, user: CurrentUser, redis: RedisClient) -> Response:
    """End every session of the account: every refresh token, every access token issued so
    far and the event streams and live view sessions opened with them. API keys are not
    affected."""
    await service.signout_all(request, user, redis)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password/change", status_code=status.HTTP_204_NO_CONTENT)
@raises(400)
async def change_password(
    data: PasswordChange, request: Request, user: AdminUser, redis: RedisClient
) -> Response:
    """Also ends every session, this one included (sign in again with the new password), and
    the event streams and live view sessions opened with them; with
    VIGIL_REVOKE_API_KEYS_ON_PASSWORD_CHANGE, the API keys too."""
    await service.change_password(request, user, data.current_password, data.new_password, redis)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The web console's sign-in, refresh and sign-out (api/auth/browser.py), under /auth/browser.
router.include_router(browser.router)
