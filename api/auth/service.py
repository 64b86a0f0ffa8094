"""Sign-up, sign-in, refresh-token rotation with reuse detection, password change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import Request
from tortoise.exceptions import IntegrityError

from api.audit import audit
from api.auth.schemas import SignupCreate, TokenPair
from api.auth.security import decode_token, hash_password, issue_token, verify_password
from api.text import NUL, NUL_MESSAGE
from shared.db.models import User
from shared.errors import AppError, AuthenticationError, ConflictError, UnprocessableError
from shared.repositories import users as repo
from shared.settings import get_settings

MAX_EMAIL_LENGTH = 320


class InvalidPasswordError(AppError):
    status_code = 400
    code = "invalid_password"


async def signup(request: Request, data: SignupCreate) -> User:
    if await repo.get_by_email(data.email):
        raise ConflictError("an account with this email already exists")
    try:
        user = await repo.create(data.email, hash_password(data.password), data.full_name)
    except IntegrityError as exc:  # two sign-ups racing for one email
        raise ConflictError("an account with this email already exists") from exc
    await audit(request, "signup", user.id)
    return user


async def authenticate(request: Request, email: str, password: str) -> User:
    # The sign-in form is not a schema of ours: its username gets the NUL check here, before
    # Postgres sees it in the lookup or the audit record.
    if NUL in email:
        raise UnprocessableError(
            f"username: {NUL_MESSAGE}",
            extra={"fields": [{"field": "username", "message": NUL_MESSAGE}]},
        )
    user = await repo.get_by_email(email)
    # The form field is unbounded; no address is longer.
    attempted = email.lower()[:MAX_EMAIL_LENGTH]
    if not verify_password(password, user.password_hash if user else None) or user is None:
        reason = "wrong_password" if user else "unknown_email"
        await audit(
            request, "signin_failed", user.id if user else None, email=attempted, reason=reason
        )
        raise AuthenticationError("incorrect email or password")
    if not user.is_active:
        await audit(request, "signin_failed", user.id, email=attempted, reason="account_disabled")
        raise AuthenticationError("this account is disabled")
    return user


async def issue_pair(user_id: uuid.UUID, family_id: uuid.UUID | None = None) -> TokenPair:
    access, _ = issue_token(user_id, "access")
    refresh, claims = issue_token(user_id, "refresh")
    await repo.add_refresh_token(claims.jti, user_id, family_id or uuid.uuid4(), claims.exp)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=get_settings().access_token_ttl_s,
    )


async def refresh(request: Request, refresh_token: str) -> TokenPair:
    claims = decode_token(refresh_token, "refresh")
    now = datetime.now(UTC)
    used = await repo.use_refresh_token(claims.jti, claims.sub, now)
    if used is None:
        known = await repo.get_refresh_token(claims.jti)
        if known is not None and (known.used_at is not None or known.revoked_at is not None):
            # A rotated-out token came back: it may have been stolen. End the whole session.
            await repo.revoke_family(known.family_id, now)
            await audit(request, "refresh_token_reuse", claims.sub, family_id=str(known.family_id))
            raise AuthenticationError("refresh token already used; sign in again")
        raise AuthenticationError("refresh token expired or unknown; sign in again")
    if await repo.get_active(claims.sub) is None:
        raise AuthenticationError("this account is disabled")
    return await issue_pair(claims.sub, used.family_id)


async def change_password(request: Request, user: User, current: str, new: str) -> None:
    if not verify_password(current, user.password_hash):
        raise InvalidPasswordError("the current password is incorrect")
    await repo.change_password(user, hash_password(new), datetime.now(UTC))
    await audit(request, "password_changed", user.id)
