"""Every account flow of the API, against the real API and Postgres."""

from __future__ import annotations

import time
import uuid

import httpx
from jose import jwt

from shared.keys import KeyPurpose, derived_key
from tests.integration.conftest import PASSWORD, db_fetch, signup_and_signin

SIGNING_KEY = derived_key(KeyPurpose.JWT_SIGNING).hex()


def _email() -> str:
    return f"auth-{uuid.uuid4().hex[:8]}@example.com"


def _signin(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/signin", data={"username": email, "password": password})


def test_signup_creates_account_and_refuses_duplicates(client: httpx.Client) -> None:
    email = _email()
    created = client.post(
        "/auth/signup", json={"email": email, "password": PASSWORD, "full_name": "Ada"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == email
    assert body["full_name"] == "Ada"
    assert "password" not in str(body)
    assert "password_hash" not in body

    again = client.post("/auth/signup", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert len(db_fetch("SELECT 1 FROM users WHERE email = $1", email)) == 1


def test_signup_validates_input(client: httpx.Client) -> None:
    bad_email = client.post("/auth/signup", json={"email": "nope", "password": PASSWORD})
    assert bad_email.status_code == 422
    assert bad_email.json()["fields"][0]["field"] == "email"
    short = client.post("/auth/signup", json={"email": _email(), "password": "short"})
    assert short.status_code == 422
    assert short.json()["fields"][0]["field"] == "password"
    malformed = client.post(
        "/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "validation_error"
    # Postgres refuses NUL in text: refused here rather than failing the INSERT.
    email = _email()
    nul = client.post(
        "/auth/signup", json={"email": email, "password": PASSWORD, "full_name": "Ada\u0000"}
    )
    assert nul.status_code == 422
    assert nul.json()["fields"][0]["field"] == "full_name"
    assert db_fetch("SELECT 1 FROM users WHERE email = $1", email) == []


def test_password_is_stored_as_argon2_hash(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    (row,) = db_fetch("SELECT password_hash FROM users WHERE email = $1", email)
    assert row["password_hash"].startswith("$argon2")


def test_signin_returns_token_pair_with_required_claims(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    response = _signin(client, email)
    # Token answers are never cached by a browser or a proxy.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] > 0
    claims = jwt.decode(tokens["access_token"], SIGNING_KEY, algorithms=["HS256"])
    assert {"sub", "exp", "iat", "jti", "type", "ver"} <= claims.keys()
    assert claims["type"] == "access"
    assert jwt.get_unverified_header(tokens["refresh_token"])["alg"] == "HS256"


def test_signin_refuses_bad_credentials(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    wrong = _signin(client, email, "wrong-password-123")
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert _signin(client, "nobody@example.com").status_code == 401
    nul = _signin(client, f"{email}\x00")
    assert nul.status_code == 422, nul.text
    assert [field["field"] for field in nul.json()["fields"]] == ["username"]


def test_me_requires_a_valid_access_token(client: httpx.Client) -> None:
    headers = signup_and_signin(client)
    assert client.get("/me", headers=headers).status_code == 200
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers={"Authorization": "Bearer garbage"}).status_code == 401
    forged = jwt.encode(
        {"sub": str(uuid.uuid4()), "type": "access", "jti": "x", "iat": 0, "exp": 9e9},
        "another-key",
        algorithm="HS256",
    )
    assert client.get("/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    me = client.get("/me", headers=headers).json()
    expired = jwt.encode(
        {
            "sub": me["id"],
            "type": "access",
            "jti": str(uuid.uuid4()),
            "ver": 0,
            "iat": int(time.time()) - 7200,
            "exp": int(time.time()) - 3600,
        },
        SIGNING_KEY,
        algorithm="HS256",
    )
    assert client.get("/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    unsigned = jwt.encode({"sub": me["id"], "type": "access"}, "", algorithm="HS256")
    assert client.get("/me", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


def test_refresh_token_is_not_an_access_token(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    refresh = _signin(client, email).json()["refresh_token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {refresh}"}).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    first = _signin(client, email).json()
    second = client.post("/auth/token-refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (
        client.get("/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code
        == 200
    )

    reused = client.post("/auth/token-refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    # The reuse ended the session: the newest refresh token of the family is dead too.
    newest = client.post("/auth/token-refresh", json={"refresh_token": pair["refresh_token"]})
    assert newest.status_code == 401
    # Another sign-in is a separate family and still works.
    other = _signin(client, email).json()
    assert (
        client.post(
            "/auth/token-refresh", json={"refresh_token": other["refresh_token"]}
        ).status_code
        == 200
    )


def test_refresh_refuses_garbage(client: httpx.Client) -> None:
    assert client.post("/auth/token-refresh", json={"refresh_token": "x.y.z"}).status_code == 401
    assert client.post("/auth/token-refresh", json={}).status_code == 422


def test_password_change_revokes_refresh_tokens(client: httpx.Client) -> None:
    email = _email()
    client.post("/auth/signup", json={"email": email, "password": PASSWORD})
    tokens = _signin(client, email).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    wrong = client.post(
        "/auth/password/change",
        json={"current_password": "not-it-at-all", "new_password": "new-password-456"},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert _signin(client, email).status_code == 200  # unchanged

    changed = client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "new-password-456"},
        headers=headers,
    )
    assert changed.status_code == 204
    assert (
        client.post(
            "/auth/token-refresh", json={"refresh_token": tokens["refresh_token"]}
        ).status_code
        == 401
    )
    assert _signin(client, email).status_code == 401
    assert _signin(client, email, "new-password-456").status_code == 200


def test_patch_me_updates_profile_only(client: httpx.Client) -> None:
    headers = signup_and_signin(client)
    updated = client.patch("/me", json={"full_name": "Grace Hopper"}, headers=headers)
    assert updated.status_code == 200
    assert updated.json()["full_name"] == "Grace Hopper"

    for privileged in ({"is_superuser": True}, {"email": "x@example.com"}, {"is_active": False}):
        refused = client.patch("/me", json=privileged, headers=headers)
        assert refused.status_code == 422, privileged
        assert refused.json()["fields"][0]["field"] == next(iter(privileged))
    me = client.get("/me", headers=headers).json()
    (row,) = db_fetch(
        "SELECT is_superuser, is_active, email FROM users WHERE id = $1", uuid.UUID(me["id"])
    )
    assert row["is_superuser"] is False
    assert row["is_active"] is True
    assert row["email"] == me["email"]
