"""Signed view tokens: what lets an `<img>` show a camera's snapshot or MJPEG stream, since an
`<img>` cannot send an Authorization header.

A token is `vt1.<claims>.<signature>`: base64url JSON claims (camera uuid, owner, the owner's
token version, the API key it was made with, expiry), signed with HMAC-SHA256 under a key
derived for this purpose alone (KeyPurpose.CAMERA_VIEW_TOKENS). It lets its bearer view that one
camera until it expires (VIGIL_CAMERA_VIEW_TOKEN_TTL_S, 60 s by default) and nothing else. It
stops working before then when its maker's credential does: a password change or "sign out
everywhere" moves the owner's token version on, and a revoked API key is no longer live. A
stream opened with a token goes on checking that while it runs, as the event streams do
(api/jobs/events.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from api.jobs.events import StreamCredential
from shared.errors import AuthenticationError
from shared.keys import KeyPurpose, derived_key

VERSION = "vt1"
# Tokens are a few hundred characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class ViewClaims:
    camera_uuid: UUID
    owner_id: UUID
    token_version: int
    api_key_id: UUID | None
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signed: str) -> str:
    key = derived_key(KeyPurpose.CAMERA_VIEW_TOKENS)
    return _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def issue(claims: ViewClaims) -> str:
    body = {
        "c": str(claims.camera_uuid),
        "o": str(claims.owner_id),
        "v": claims.token_version,
        "k": str(claims.api_key_id) if claims.api_key_id else None,
        "e": int(claims.expires_at.timestamp()),
    }
    signed = f"{VERSION}.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
    return f"{signed}.{_signature(signed)}"


def _claims(body: Any) -> ViewClaims:
    version, expires = body["v"], body["e"]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (version, expires)):
        raise TypeError("v, e")
    return ViewClaims(
        camera_uuid=UUID(body["c"]),
        owner_id=UUID(body["o"]),
        token_version=version,
        api_key_id=UUID(body["k"]) if body["k"] is not None else None,
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def verify(token: str) -> ViewClaims:
    """The claims of a token this service signed and that has not expired; AuthenticationError
    for anything else. Says nothing yet of whether its maker's credential still holds."""
    version, _, rest = token.partition(".")
    body_text, _, signature = rest.partition(".")
    expected = _signature(f"{version}.{body_text}")
    # Bytes: compare_digest refuses non-ASCII text, which a query string can carry.
    if version != VERSION or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthenticationError("invalid view token")
    try:
        claims = _claims(json.loads(_unb64(body_text)))
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise AuthenticationError("invalid view token") from exc
    if claims.expires_at.timestamp() <= time.time():
        raise AuthenticationError("this view token has expired; ask for a new one")
    return claims


def credential(claims: ViewClaims) -> StreamCredential:
    """The credential the token was made with, as a stream re-checks it while it runs."""
    return StreamCredential(claims.owner_id, claims.token_version, claims.api_key_id)


async def check_maker(claims: ViewClaims) -> None:
    """AuthenticationError when the credential the token was made with no longer
    authenticates: for a bearer token, the owner signed out everywhere, changed their password
    or was deactivated; for an API key, it was revoked or expired."""
    if await credential(claims).revoked():
        raise AuthenticationError("the sign-in or API key this view token was made with has ended")
