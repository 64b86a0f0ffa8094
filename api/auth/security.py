"""Password hashing (argon2 via passlib) and JWTs (python-jose, HS256 only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from jose import JWTError, jwt
from passlib.context import CryptContext

from shared.errors import AuthenticationError
from shared.settings import get_settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _passwords.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return str(_passwords.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    return _passwords.verify(password, password_hash or _DUMMY_HASH) and password_hash is not None


@dataclass(frozen=True)
class TokenClaims:
    sub: uuid.UUID
    jti: uuid.UUID
    type: TokenType
    iat: datetime
    exp: datetime


def issue_token(
    user_id: uuid.UUID, token_type: TokenType, jti: uuid.UUID | None = None
) -> tuple[str, TokenClaims]:
    settings = get_settings()
    ttl = settings.access_token_ttl_s if token_type == "access" else settings.refresh_token_ttl_s
    now = datetime.now(UTC).replace(microsecond=0)
    claims = TokenClaims(
        sub=user_id,
        jti=jti or uuid.uuid4(),
        type=token_type,
        iat=now,
        exp=now + timedelta(seconds=ttl),
    )
    token = jwt.encode(
        {
            "sub": str(claims.sub),
            "jti": str(claims.jti),
            "type": claims.type,
            "iat": int(claims.iat.timestamp()),
            "exp": int(claims.exp.timestamp()),
        },
        settings.secret_key.get_secret_value(),
        algorithm=ALGORITHM,
    )
    return token, claims


def decode_token(token: str, expected: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            get_settings().secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            options={
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
            },
        )
        claims = TokenClaims(
            sub=uuid.UUID(payload["sub"]),
            jti=uuid.UUID(payload["jti"]),
            type=payload["type"],
            iat=datetime.fromtimestamp(payload["iat"], UTC),
            exp=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (JWTError, KeyError, ValueError, TypeError) as exc:
        raise AuthenticationError(f"invalid {expected} token") from exc
    if claims.type != expected:
        raise AuthenticationError(f"invalid {expected} token")
    return claims
