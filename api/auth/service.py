"""Sign-up, sign-in, refresh-token rotation with reuse detection, sign-out, password change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from fastapi import Request
from tortoise.exceptions import IntegrityError

from api.audit import audit
from api.auth.form import SigninForm
from api.auth.schemas import SignupCreate, TokenPair
from api.auth.security import decode_token, hash_password, issue_token, verify_password
from api.ratelimit import SigninGuard
from api.webrtc import service as live_view
from shared.db.models import User
from shared.errors import AppError, AuthenticationError, ConflictError, ForbiddenError
from shared.repositories import users as repo
from shared.settings import get_settings


class InvalidPasswordError(AppError):
    status_code = 400
    code = "invalid_password"


async def signup(request: Request, data: SignupCreate) -> User:
    if await repo.get_by_email(data.email):
        raise ConflictError("an account with this email already exists")
    try:
        user = await repo.create(data.email, await hash_password(data.password), data.full_name)
    except IntegrityError as exc:  # two sign-ups racing for one email
        raise ConflictError("an account with this email already exists") from exc
    await audit(request, "signup", user.id)
    return user


async def _failed(
    request: Request, guard: SigninGuard, user: User | None, email: str, reason: str
) -> AuthenticationError:
    await guard.record_failure()
    await audit(request, "signin_failed", user.id if user else None, email=email, reason=reason)
    return AuthenticationError("incorrect email or password")


async def authenticate(request: Request, form: SigninForm) -> User:
    """The account whose credentials these are. Failures are counted (api/ratelimit.py) and
    audited; unknown e-mails and wrong passwords get one answer after the same work."""
    guard = SigninGuard.of(request, form.username)
    await guard.check()
    user = await repo.get_by_email(form.username)
    attempted = form.username.lower()
    if form.password_too_long:
        raise await _failed(request, guard, user, attempted, "password_too_long")
    verified = await verify_password(form.password, user.password_hash if user else None)
    if user is None or not verified:
        reason = "wrong_password" if user else "unknown_email"
        raise await _failed(request, guard, user, attempted, reason)
    if not user.is_active:
        await audit(request, "signin_failed", user.id, email=attempted, reason="account_disabled")
        raise AuthenticationError("this account is disabled")
    return user


def _pair(user: User, refresh: str) -> TokenPair:
    access, _ = issue_token(user.id, "access", user.token_version)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=get_settings().access_token_ttl_s,
    )


async def start_session(user: User) -> TokenPair:
    """A new sign-in: a refresh-token family that ends VIGIL_SESSION_MAX_AGE_S from now."""
    settings = get_settings()
    family_end = datetime.now(UTC) + timedelta(seconds=settings.session_max_age_s)
    refresh, claims = issue_token(user.id, "refresh", user.token_version, not_after=family_end)
    first = repo.NewRefreshToken(claims.jti, claims.exp)
    await repo.start_family(user.id, uuid.uuid4(), family_end, first)
    return _pair(user, refresh)


async def refresh(request: Request, refresh_token: str) -> TokenPair:
    claims = decode_token(refresh_token, "refresh")
    user = await repo.get_active(claims.sub)
    if user is None or user.token_version != claims.ver:
        raise AuthenticationError("refresh token expired or unknown; sign in again")
    now = datetime.now(UTC)
    successor = repo.NewRefreshToken(
        uuid.uuid4(), now + timedelta(seconds=get_settings().refresh_token_ttl_s)
    )
    result = await repo.rotate_refresh_token(claims.jti, claims.sub, now, successor)
    if result.outcome is repo.Rotation.REUSED:
        # A rotated-out token came back: it may have been stolen. The whole session ended.
        await audit(request, "refresh_token_reuse", claims.sub, family_id=str(result.family_id))
        raise AuthenticationError("refresh token already used; sign in again")
    if result.outcome is not repo.Rotation.ROTATED or result.expires_at is None:
        raise AuthenticationError("refresh token expired or unknown; sign in again")
    token, _ = issue_token(
        user.id, "refresh", user.token_version, jti=successor.jti, not_after=result.expires_at
    )
    return _pair(user, token)


async def signout(request: Request, refresh_token: str) -> None:
    """End the session (family) of `refresh_token`; an unknown token changes nothing."""
    claims = decode_token(refresh_token, "refresh")
    family_id = await repo.revoke_family_of(claims.jti, claims.sub, datetime.now(UTC))
    if family_id is not None:
        await audit(request, "signout", claims.sub, family_id=str(family_id))


async def signout_all(request: Request, user: User, redis: aioredis.Redis) -> None:
    """End every session of the user and every access token issued to them so far, and the
    live view sessions opened with them."""
    if getattr(request.state, "auth_method", None) != "bearer":
        raise ForbiddenError("signing out everywhere takes a bearer token, not an API key")
    await repo.end_all_sessions(user.id, datetime.now(UTC))
    await audit(request, "signout_all", user.id)
    await live_view.end_sessions_of_credentials(
        redis, user.id, live_view.opened_with_a_bearer_token, "signed out everywhere"
    )


async def change_password(
    request: Request, user: User, current: str, new: str, redis: aioredis.Redis
) -> None:
    if not await verify_password(current, user.password_hash):
        raise InvalidPasswordError("the current password is incorrect")
    settings = get_settings()
    revoked_keys = await repo.change_password(
        user,
        await hash_password(new),
        datetime.now(UTC),
        revoke_api_keys=settings.revoke_api_keys_on_password_change,
    )
    await audit(request, "password_changed", user.id, api_keys_revoked=revoked_keys)
    ended = (
        live_view.every_session
        if settings.revoke_api_keys_on_password_change
        else live_view.opened_with_a_bearer_token
    )
    await live_view.end_sessions_of_credentials(redis, user.id, ended, "password changed")
