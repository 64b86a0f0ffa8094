"""Password hashing (argon2 via passlib) and JWTs (python-jose, HS256 only).

Argon2 costs about 0.2 s of CPU per hash on purpose. It runs in worker threads behind a limiter
of its own (VIGIL_PASSWORD_HASH_CONCURRENCY): on the event loop every sign-in would stall every
other request, and in the shared thread pool a burst of sign-ins would take the threads the
rest of the API needs. Tokens are signed with a key derived for that purpose alone
(shared/keys.py), never with VIGIL_SECRET_KEY itself."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import anyio
import anyio.to_thread
from jose import JWTError, jwt
from passlib.context import CryptContext

from shared.errors import AuthenticationError
from shared.keys import KeyPurpose, derived_key
from shared.settings import get_settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
# At most this many verified access tokens are remembered (decode_token).
VERIFIED_TOKENS = 4096
# Longer passwords are refused before hashing: argon2 would hash megabytes as readily, and
# passlib refuses past 4096 bytes with an error of its own.
MAX_PASSWORD_LENGTH = 128

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _passwords.hash("not-a-real-password")


@lru_cache(maxsize=1)
def _hashing_limiter() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(get_settings().password_hash_concurrency)


def _verify(password: str, password_hash: str | None) -> bool:
    return bool(_passwords.verify(password, password_hash or _DUMMY_HASH)) and (
        password_hash is not None
    )


async def hash_password(password: str) -> str:
    hashed = await anyio.to_thread.run_sync(_passwords.hash, password, limiter=_hashing_limiter())
    return str(hashed)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """False for a wrong password, and for no hash at all (an unknown account) after the same
    work as a real check."""
    return await anyio.to_thread.run_sync(
        _verify, password, password_hash, limiter=_hashing_limiter()
    )


@dataclass(frozen=True)
class TokenClaims:
    sub: uuid.UUID
    jti: uuid.UUID
    type: TokenType
    # The user's token version when the token was issued (see User.token_version).
    ver: int
    iat: datetime
    exp: datetime


# Access tokens whose signature and claims have been checked, by their text (decode_token).
_verified: dict[str, TokenClaims] = {}


def _signing_key() -> str:
    # python-jose takes an HMAC key as text; hex keeps all 256 derived bits.
    return derived_key(KeyPurpose.JWT_SIGNING).hex()


def issue_token(
    user_id: uuid.UUID,
    token_type: TokenType,
    version: int,
    jti: uuid.UUID | None = None,
    not_after: datetime | None = None,
) -> tuple[str, TokenClaims]:
    """A signed token of `token_type`; `not_after` caps its expiry (a session's end)."""
    settings = get_settings()
    ttl = settings.access_token_ttl_s if token_type == "access" else settings.refresh_token_ttl_s
    now = datetime.now(UTC).replace(microsecond=0)
    exp = now + timedelta(seconds=ttl)
    if not_after is not None:
        exp = min(exp, not_after.replace(microsecond=0))
    claims = TokenClaims(
        sub=user_id, jti=jti or uuid.uuid4(), type=token_type, ver=version, iat=now, exp=exp
    )
    token = jwt.encode(
        {
            "sub": str(claims.sub),
            "jti": str(claims.jti),
            "type": claims.type,
            "ver": claims.ver,
            "iat": int(claims.iat.timestamp()),
            "exp": int(claims.exp.timestamp()),
        },
        _signing_key(),
        algorithm=ALGORITHM,
    )
    return token, claims


def decode_token(token: str, expected: TokenType) -> TokenClaims:
    """The claims of a valid token of type `expected`; AuthenticationError for anything else
    (another algorithm or key, expired, a claim missing or malformed).

    A client polls with one access token for minutes, and checking it costs more than the rest
    of a status request's own work: a verified access token is remembered, up to
    VERIFIED_TOKENS of them, until its `exp`. Only what the token proves by itself is kept;
    whether its user may still use it (active, the token version unchanged) is the caller's to
    ask each time (api/deps.py), so a revocation takes effect on the next request."""
    claims = _verified.get(token)
    if claims is None:
        claims = _decode(token, expected)
        if claims.type == "access":
            if len(_verified) >= VERIFIED_TOKENS:
                # Oldest first: dicts keep insertion order.
                _verified.pop(next(iter(_verified)))
            _verified[token] = claims
    elif claims.exp.timestamp() < time.time():
        _verified.pop(token, None)
        raise AuthenticationError(f"invalid {expected} token")
    if claims.type != expected:
        raise AuthenticationError(f"invalid {expected} token")
    return claims


def _decode(token: str, expected: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            options={
                "require_exp": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
            },
        )
        version = payload["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise TypeError("ver")
        claims = TokenClaims(
            sub=uuid.UUID(payload["sub"]),
            jti=uuid.UUID(payload["jti"]),
            type=payload["type"],
            ver=version,
            iat=datetime.fromtimestamp(payload["iat"], UTC),
            exp=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (JWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
        raise AuthenticationError(f"invalid {expected} token") from exc
    return claims
