"""F-02 and F-20: decode_token accepts HS256 under the derived signing key, and nothing else;
the access tokens it has verified are remembered, their expiry and type still checked."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from api.auth import security
from api.auth.security import decode_token, issue_token
from shared.errors import AuthenticationError
from shared.keys import KeyPurpose, derived_key
from tests.conftest import TEST_ENV

SIGNING_KEY = derived_key(KeyPurpose.JWT_SIGNING).hex()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "jti": str(uuid.uuid4()),
        "type": "access",
        "ver": 0,
        "iat": now,
        "exp": now + 600,
    }
    return {key: value for key, value in (claims | changes).items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_an_issued_token_round_trips() -> None:
    user_id = uuid.uuid4()
    token, issued = issue_token(user_id, "access", 7)
    claims = decode_token(token, "access")
    assert (claims.sub, claims.ver, claims.jti) == (user_id, 7, issued.jti)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def _unsigned() -> str:
    header = json.dumps({"alg": "none", "typ": "JWT"}).encode()
    return f"{_b64(header)}.{_b64(json.dumps(_claims()).encode())}."


def _rsa_pem() -> bytes:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    "forge",
    [
        # The placeholder secret the default used to be, and the raw secret instead of the key
        # derived from it.
        pytest.param(lambda: jwt.encode(_claims(), "change-me", algorithm="HS256"), id="change-me"),
        pytest.param(
            lambda: jwt.encode(_claims(), TEST_ENV["VIGIL_SECRET_KEY"], algorithm="HS256"),
            id="raw-secret",
        ),
        pytest.param(lambda: jwt.encode(_claims(), SIGNING_KEY, algorithm="HS512"), id="hs512"),
        pytest.param(_unsigned, id="alg-none"),
        pytest.param(lambda: jwt.encode(_claims(), _rsa_pem(), algorithm="RS256"), id="rs256"),
        pytest.param(
            lambda: jwt.encode(_claims(type="refresh"), SIGNING_KEY, algorithm="HS256"),
            id="refresh-as-access",
        ),
        pytest.param(
            lambda: jwt.encode(_claims(type=None), SIGNING_KEY, algorithm="HS256"), id="no-type"
        ),
        pytest.param(
            lambda: jwt.encode(_claims(ver=None), SIGNING_KEY, algorithm="HS256"), id="no-ver"
        ),
        pytest.param(
            lambda: jwt.encode(_claims(ver="0"), SIGNING_KEY, algorithm="HS256"), id="text-ver"
        ),
        pytest.param(
            lambda: jwt.encode(_claims(exp=int(time.time()) - 60), SIGNING_KEY, algorithm="HS256"),
            id="expired",
        ),
    ],
)
def test_decode_refuses_forged_and_malformed_tokens(forge: Any) -> None:
    with pytest.raises(AuthenticationError):
        decode_token(forge(), "access")


def test_a_remembered_token_still_expires_and_keeps_its_type() -> None:
    """Verified access tokens are remembered (decode_token): what that skips is the signature
    check, never the expiry or the type."""
    soon = datetime.now(UTC) + timedelta(seconds=30)
    token, issued = issue_token(uuid.uuid4(), "access", 0, not_after=soon)
    assert decode_token(token, "access").jti == issued.jti
    assert token in security._verified
    with pytest.raises(AuthenticationError):
        decode_token(token, "refresh")
    later = issued.exp.timestamp() + 1
    with (
        mock.patch("time.time", return_value=later),
        pytest.raises(AuthenticationError),
    ):
        decode_token(token, "access")
    assert token not in security._verified


def test_refresh_tokens_and_refused_tokens_are_not_remembered() -> None:
    refresh, _ = issue_token(uuid.uuid4(), "refresh", 0)
    decode_token(refresh, "refresh")
    forged = jwt.encode(_claims(), "change-me", algorithm="HS256")
    with pytest.raises(AuthenticationError):
        decode_token(forged, "access")
    assert refresh not in security._verified
    assert forged not in security._verified


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "VERIFIED_TOKENS", 2)
    monkeypatch.setattr(security, "_verified", {})
    tokens = [issue_token(uuid.uuid4(), "access", 0)[0] for _ in range(3)]
    for token in tokens:
        decode_token(token, "access")
    # The oldest went first.
    assert list(security._verified) == tokens[1:]
