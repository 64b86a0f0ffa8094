"""Sign-in for browsers (the web console): the refresh token lives in a cookie that no page
script can read, the access token in the page's memory only.

`vigil_refresh` holds the refresh token: HttpOnly (a script injected into the page cannot take
the session away), SameSite=Strict (never sent with a request that another site starts) and
Path=/api/v1/auth/browser (sent to these routes alone, never along with any other request);
Secure whenever the client came over HTTPS. Its Max-Age is the refresh token's remaining life,
and it rotates on every refresh like any refresh token (api/auth/service.py: a rotated-out token
that comes back ends the whole session).

Every route here also requires `X-Requested-With: vigil-console`. A form on another site cannot
send that header, and a script on another origin can only send it after a CORS preflight that
Vigil never grants (VIGIL_CORS_ORIGINS admits no such header), so a cross-site request is
refused even by a browser that ignores SameSite. The refresh token never appears in a body.

`vigil_session` (no secret: `1`; readable by the page) only says that a refresh is worth trying,
so that a visit without a session does not begin with a refused request."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from api.auth import service
from api.auth.form import OPENAPI_BODY, SigninForm, signin_form
from api.auth.schemas import MAX_TOKEN_LENGTH, BrowserSession, TokenPair
from api.auth.security import decode_token
from api.client_address import is_https
from api.errors import error_response
from api.openapi import raises
from api.ratelimit import limit_auth_by_ip
from shared.contracts import API_PREFIX
from shared.errors import AuthenticationError, ForbiddenError

REFRESH_COOKIE = "vigil_refresh"
SESSION_COOKIE = "vigil_session"
COOKIE_PATH = f"{API_PREFIX}/auth/browser"
CONSOLE_HEADER = "X-Requested-With"
CONSOLE_HEADER_VALUE = "vigil-console"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

CONSOLE_HEADER_DOC: dict[str, Any] = {
    "name": CONSOLE_HEADER,
    "in": "header",
    "required": True,
    "description": "proves the request comes from a page of this site (403 without it)",
    "schema": {"type": "string", "enum": [CONSOLE_HEADER_VALUE]},
}
Responses = dict[int | str, dict[str, Any]]
TOO_MANY: Responses = {429: {"description": "too many attempts; see Retry-After"}}
NO_SESSION: Responses = {
    401: {
        "description": "no session cookie, or its session has ended; the cookies are cleared",
        "headers": {"Set-Cookie": {"schema": {"type": "string"}}},
    }
}
SESSION_SET = {
    "description": "signed in: the access token here, the refresh token in the "
    f"`{REFRESH_COOKIE}` cookie (HttpOnly, SameSite=Strict, Path={COOKIE_PATH})",
    "headers": {"Set-Cookie": {"schema": {"type": "string"}}},
}

RefreshCookie = Annotated[
    str | None,
    Cookie(
        alias=REFRESH_COOKIE,
        description="set by sign-in and refresh; the browser sends it by itself",
    ),
]


@raises(403)
async def from_console(request: Request) -> None:
    """Refuses a request without the console's header (see the module's docstring)."""
    if request.headers.get(CONSOLE_HEADER) != CONSOLE_HEADER_VALUE:
        raise ForbiddenError(
            f"browser sign-in routes need the header {CONSOLE_HEADER}: {CONSOLE_HEADER_VALUE}"
        )


# The per-address brute-force guard of the other sign-in routes, then the console's header,
# both before any form is read or password checked.
GUARDS = [Depends(limit_auth_by_ip), Depends(from_console)]

router = APIRouter(prefix="/browser")


def _set_cookies(response: Response, refresh_token: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        SESSION_COOKIE, "1", max_age=max_age, path="/", secure=secure, samesite="strict"
    )


def _clear_cookies(response: Response, secure: bool) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, samesite="strict")


def _session(request: Request, response: Response, pair: TokenPair) -> BrowserSession:
    expires_at = decode_token(pair.refresh_token, "refresh").exp
    max_age = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
    _set_cookies(response, pair.refresh_token, max_age, is_https(request.scope))
    return BrowserSession(access_token=pair.access_token, expires_in=pair.expires_in)


def _refused(request: Request, detail: str) -> JSONResponse:
    response = error_response(
        status.HTTP_401_UNAUTHORIZED,
        AuthenticationError.code,
        detail,
        {"WWW-Authenticate": "Bearer", **NO_STORE},
    )
    _clear_cookies(response, is_https(request.scope))
    return response


@router.post(
    "/signin",
    dependencies=GUARDS,
    responses={
        200: SESSION_SET,
        **TOO_MANY,
        415: {"description": "the body is not application/x-www-form-urlencoded"},
    },
    openapi_extra={**OPENAPI_BODY, "parameters": [CONSOLE_HEADER_DOC]},
    summary="Sign in (browsers)",
)
@raises(401)
async def browser_signin(
    form: Annotated[SigninForm, Depends(signin_form)], request: Request, response: Response
) -> BrowserSession:
    """The form of `POST /auth/signin`, for the web console: the access token in the body,
    the refresh token in an HttpOnly cookie that only the browser sign-in routes receive."""
    user = await service.authenticate(request, form)
    return _session(request, response, await service.start_session(user))


@router.post(
    "/refresh",
    dependencies=GUARDS,
    response_model=BrowserSession,
    responses={200: SESSION_SET, **NO_SESSION, **TOO_MANY},
    openapi_extra={"parameters": [CONSOLE_HEADER_DOC]},
    summary="Refresh the access token (browsers)",
)
async def browser_refresh(request: Request, response: Response, token: RefreshCookie = None) -> Any:
    """A new access token for the session of the `vigil_refresh` cookie, which is rotated.
    Without a valid cookie: 401, and both cookies are cleared."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return _refused(request, "no session; sign in")
    try:
        pair = await service.refresh(request, token)
    except AuthenticationError as exc:
        return _refused(request, exc.detail)
    return _session(request, response, pair)


@router.post(
    "/signout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=GUARDS,
    responses={
        204: {
            "description": "the session is over and both cookies are cleared",
            "headers": {"Set-Cookie": {"schema": {"type": "string"}}},
        },
        **TOO_MANY,
    },
    openapi_extra={"parameters": [CONSOLE_HEADER_DOC]},
    summary="Sign out (browsers)",
)
async def browser_signout(request: Request, token: RefreshCookie = None) -> Response:
    """End the session of the `vigil_refresh` cookie (every token rotated from the same
    sign-in) and clear the cookies. Without a cookie, or with one of a session already over,
    there is nothing to end: the cookies are cleared all the same."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        with suppress(AuthenticationError):
            await service.signout(request, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
    _clear_cookies(response, is_https(request.scope))
    return response
