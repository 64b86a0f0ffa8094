"""API keys, the audit trail and the access log, against the real API, worker and Postgres."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.keys import KeyPurpose, derived_key
from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.integration.conftest import (
    PASSWORD,
    db_fetch,
    signup_and_signin,
    submit,
    uploads,
    wait_for,
)
from tests.media import BUS


def _create_key(
    client: httpx.Client, auth: dict[str, str], name: str = "ci", **fields: Any
) -> dict[str, Any]:
    response = client.post("/api-keys", json={"name": name, **fields}, headers=auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _key_headers(created: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": created["key"]}


def _events(client: httpx.Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/me/audit-events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _access_lines(log: Path, matches: Any, timeout_s: float = 10) -> list[dict[str, Any]]:
    """The access-log records in the API's log that `matches`; the line is written just after
    the response went out, so it may lag the client by a moment."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [
            record
            for line in log.read_text().splitlines()
            if "vigil.access: " in line
            and matches(record := json.loads(line.split("vigil.access: ", 1)[1]))
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_key_is_shown_once_and_stored_only_as_an_hmac(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    created = _create_key(client, auth, "  nightly upload  ")
    key = created["key"]
    assert key.startswith("vk_")
    assert len(key) > 40
    assert created["prefix"] == key[:11]
    assert created["name"] == "nightly upload"
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None
    # Made without scopes: jobs and the watchlist, not keys or webhooks; no expiry.
    assert created["scopes"] == ["read", "write"]
    assert created["expires_at"] is None
    assert created["created_by_key_id"] is None

    listed = client.get("/api-keys", headers=auth).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert "key" not in item
    assert item["id"] == created["id"]
    assert item["prefix"] == created["prefix"]
    assert key not in json.dumps(listed)

    (row,) = db_fetch("SELECT * FROM api_keys WHERE id = $1", uuid.UUID(created["id"]))
    # Under the key derived for API-key hashing, not the JWT signing key or the raw secret.
    expected = hmac.new(
        derived_key(KeyPurpose.API_KEY_HASHING), key.encode(), hashlib.sha256
    ).hexdigest()
    assert row["key_hash"] == expected
    assert key not in json.dumps([str(value) for value in row.values()])


def test_a_key_stored_under_the_legacy_hash_keeps_working_and_is_rehashed(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """Keys made before hashes moved to a derived key were stored under the raw secret."""
    created = _create_key(client, auth, "from before the upgrade")
    key = created["key"]
    legacy = hmac.new(
        TEST_ENV["VIGIL_SECRET_KEY"].encode(), key.encode(), hashlib.sha256
    ).hexdigest()
    db_fetch("UPDATE api_keys SET key_hash = $1 WHERE id = $2", legacy, uuid.UUID(created["id"]))

    assert client.get("/me", headers=_key_headers(created)).status_code == 200
    (row,) = db_fetch("SELECT key_hash FROM api_keys WHERE id = $1", uuid.UUID(created["id"]))
    assert (
        row["key_hash"]
        == hmac.new(
            derived_key(KeyPurpose.API_KEY_HASHING), key.encode(), hashlib.sha256
        ).hexdigest()
    )
    assert client.get("/me", headers=_key_headers(created)).status_code == 200
    assert client.get("/me", headers={"X-API-Key": key + "x"}).status_code == 401


def test_key_acts_as_its_owner_on_jobs(client: httpx.Client, auth: dict[str, str]) -> None:
    created = _create_key(client, auth)
    headers = _key_headers(created)
    me = client.get("/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == client.get("/me", headers=auth).json()

    job = submit(client, headers, BUS, {})
    assert wait_for(client, job["job_id"], headers)["status"] == "completed"
    results = client.get(f"/jobs/{job['job_id']}/results", headers=headers)
    assert results.status_code == 200
    assert any(d["label"] == "bus" for d in results.json()["frames"][0]["detections"])
    # The same job, seen by its owner's bearer token: the key acted as that user.
    assert client.get(f"/jobs/{job['job_id']}/status", headers=auth).status_code == 200

    stranger = _key_headers(_create_key(client, signup_and_signin(client)))
    for path in (f"/jobs/{job['job_id']}/status", f"/jobs/{job['job_id']}/results"):
        refused = client.get(path, headers=stranger)
        assert refused.status_code == 404, path
        assert refused.json()["error"] == "not_found"

    (used,) = client.get("/api-keys", headers=auth).json()["items"]
    assert used["last_used_at"] is not None


def test_revoked_key_is_refused_on_the_very_next_request(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    created = _create_key(client, auth)
    headers = _key_headers(created)
    assert client.get("/me", headers=headers).status_code == 200

    assert client.delete(f"/api-keys/{created['id']}", headers=auth).status_code == 204
    refused = client.get("/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json() == {"error": "not_authenticated", "detail": "invalid API key"}

    # Revoking twice is a no-op, recorded once.
    assert client.delete(f"/api-keys/{created['id']}", headers=auth).status_code == 204
    (item,) = client.get("/api-keys", params={"include_revoked": True}, headers=auth).json()[
        "items"
    ]
    assert item["revoked_at"] is not None
    actions = [event["action"] for event in _events(client, auth)["items"]]
    assert actions.count("api_key_revoked") == 1
    assert actions.count("api_key_created") == 1


def test_bad_keys_foreign_ids_and_bearer_precedence(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    created = _create_key(client, auth)
    for bad in ("vk_" + "x" * 43, "garbage", created["key"] + "x"):
        refused = client.get("/me", headers={"X-API-Key": bad})
        assert refused.status_code == 401, bad
        assert refused.json()["detail"] == "invalid API key"

    # A bearer token, when present, decides: a bad one is refused whatever key comes with it.
    assert client.get("/me", headers=auth | {"X-API-Key": "garbage"}).status_code == 200
    bad_bearer = {"Authorization": "Bearer garbage"} | _key_headers(created)
    assert client.get("/me", headers=bad_bearer).status_code == 401

    other = signup_and_signin(client)
    assert client.delete(f"/api-keys/{created['id']}", headers=other).status_code == 404
    assert client.delete(f"/api-keys/{uuid.uuid4()}", headers=auth).status_code == 404
    assert client.get("/api-keys", headers=other).json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 100,
    }
    assert client.get("/me", headers=_key_headers(created)).status_code == 200


def test_an_admin_key_manages_keys_and_webhooks_and_the_audit_names_it(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    first = _create_key(client, auth, scopes=["admin", "write"])
    assert first["scopes"] == ["read", "write", "admin"]
    headers = _key_headers(first)
    second = _create_key(client, headers, "made with a key")
    assert second["created_by_key_id"] == first["id"]
    assert client.get("/me", headers=_key_headers(second)).status_code == 200
    hook = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["job.completed"]},
        headers=headers,
    )
    assert hook.status_code == 201, hook.text
    assert client.delete(f"/api-keys/{second['id']}", headers=headers).status_code == 204

    events = {
        (event["action"], event["details"].get("api_key_id")): event["details"]
        for event in _events(client, auth)["items"]
    }
    assert events["api_key_created", second["id"]] == {
        "api_key_id": second["id"],
        "name": "made with a key",
        "prefix": second["prefix"],
        "scopes": ["read", "write"],
        "via_api_key_id": first["id"],
    }
    assert events["api_key_revoked", second["id"]]["via_api_key_id"] == first["id"]
    assert events["webhook_created", None]["via_api_key_id"] == first["id"]
    # The first key was made with a bearer token: no key to name.
    assert "via_api_key_id" not in events["api_key_created", first["id"]]


def test_key_names_are_validated(client: httpx.Client, auth: dict[str, str]) -> None:
    for name in ("", "   ", "x" * 201, "ci\u0000"):
        invalid = client.post("/api-keys", json={"name": name}, headers=auth)
        assert invalid.status_code == 422, name
        assert invalid.json()["fields"][0]["field"] == "name"
    extra = client.post(
        "/api-keys", json={"name": "ok", "owner_id": str(uuid.uuid4())}, headers=auth
    )
    assert extra.status_code == 422
    assert client.get("/api-keys", headers=auth).json()["total"] == 0


def test_at_most_100_live_keys(client: httpx.Client, auth: dict[str, str]) -> None:
    ids = [_create_key(client, auth, f"k{i}")["id"] for i in range(100)]
    full = client.post("/api-keys", json={"name": "one too many"}, headers=auth)
    assert full.status_code == 409
    assert full.json()["error"] == "conflict"
    assert client.get("/api-keys", headers=auth).json()["total"] == 100
    assert client.delete(f"/api-keys/{ids[0]}", headers=auth).status_code == 204
    _create_key(client, auth, "room again")
    assert client.get("/api-keys", headers=auth).json()["total"] == 100
    everything = client.get("/api-keys", params={"include_revoked": True}, headers=auth).json()
    assert everything["total"] == 101


def test_audit_events_record_security_actions_for_their_owner_only(
    client: httpx.Client,
) -> None:
    email = f"audit-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    wrong = client.post("/auth/signin", data={"username": email, "password": "not-the-password"})
    assert wrong.status_code == 401
    tokens = client.post("/auth/signin", data={"username": email, "password": PASSWORD}).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    rotated = client.post("/auth/token-refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    reused = client.post("/auth/token-refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    created = _create_key(client, auth)
    assert client.delete(f"/api-keys/{created['id']}", headers=auth).status_code == 204
    changed = client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "another-password-789"},
        headers=auth,
    )
    assert changed.status_code == 204
    # A password change ends every session, this one included.
    new_tokens = client.post(
        "/auth/signin", data={"username": email, "password": "another-password-789"}
    ).json()
    auth = {"Authorization": f"Bearer {new_tokens['access_token']}"}

    page = _events(client, auth)
    events = page["items"]
    assert [event["action"] for event in events] == [
        "password_changed",
        "api_key_revoked",
        "api_key_created",
        "refresh_token_reuse",
        "signin_failed",
        "signup",
    ]
    assert page["total"] == 6
    assert all(event["ip"] == "127.0.0.1" for event in events)
    by_action = {event["action"]: event for event in events}
    assert by_action["signin_failed"]["details"] == {"email": email, "reason": "wrong_password"}
    assert by_action["api_key_created"]["details"] == {
        "api_key_id": created["id"],
        "name": "ci",
        "prefix": created["prefix"],
        "scopes": ["read", "write"],
    }
    assert created["key"] not in json.dumps(page)

    second = _events(client, auth, page=2, page_size=4)
    assert [event["id"] for event in second["items"]] == [event["id"] for event in events[4:]]
    assert (second["total"], second["page"], second["page_size"]) == (6, 2, 4)
    assert client.get("/me/audit-events", params={"page_size": 101}, headers=auth).status_code == (
        422
    )

    other = signup_and_signin(client)
    assert [event["action"] for event in _events(client, other)["items"]] == ["signup"]


def test_failed_signin_of_an_unknown_email_is_recorded_without_a_user(
    client: httpx.Client,
) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signin", data={"username": email, "password": PASSWORD}).status_code
        == 401
    )
    (row,) = db_fetch(
        "SELECT user_id, ip, details FROM audit_events "
        "WHERE action = 'signin_failed' AND details->>'email' = $1",
        email,
    )
    assert row["user_id"] is None
    assert row["ip"] == "127.0.0.1"
    assert json.loads(row["details"])["reason"] == "unknown_email"


def test_openapi_offers_bearer_and_api_key(stack: LocalStack) -> None:
    spec = httpx.get(f"{stack.base_url}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "an API key from POST /api/v1/api-keys; acts as its owner within its scopes",
    }
    assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
    me = spec["paths"]["/api/v1/me"]["get"]["security"]
    assert {"APIKeyHeader": []} in me
    assert {"OAuth2PasswordBearer": []} in me


def test_access_log_names_route_caller_and_job(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    created = _create_key(client, auth)
    headers = _key_headers(created)
    job = submit(client, headers, BUS, {})
    user_id = client.get("/me", headers=auth).json()["id"]
    assert client.get(f"/jobs/{job['job_id']}/status", headers=headers).status_code == 200
    log = stack.log_dir / "api.log"

    (status_line,) = _access_lines(
        log,
        lambda r: r["path"] == f"/api/v1/jobs/{job['job_id']}/status" and r["auth"] == "api_key",
    )
    assert status_line["method"] == "GET"
    assert status_line["route"] == "/api/v1/jobs/{job_id}/status"
    assert status_line["status"] == 200
    assert status_line["user_id"] == user_id
    assert status_line["api_key_id"] == created["id"]
    assert status_line["job_id"] == job["job_id"]
    assert status_line["ip"] == "127.0.0.1"
    assert status_line["duration_ms"] >= 0

    (submit_line,) = _access_lines(
        log, lambda r: r["job_id"] == job["job_id"] and r["method"] == "POST"
    )
    assert submit_line["route"] == "/api/v1/process/image"
    assert submit_line["status"] in (200, 202)

    (bearer_line,) = _access_lines(
        log,
        lambda r: (
            r["route"] == "/api/v1/api-keys" and r["status"] == 201 and r["user_id"] == user_id
        ),
    )
    assert bearer_line["auth"] == "bearer"
    assert bearer_line["api_key_id"] is None

    missing = f"/api/v1/no-such-route-{uuid.uuid4().hex[:6]}"
    assert httpx.get(stack.base_url + missing).status_code == 404
    (unmatched,) = _access_lines(log, lambda r: r["path"] == missing)
    assert unmatched["route"] == missing
    assert unmatched["user_id"] is None

    text = log.read_text()
    assert created["key"] not in text
    assert auth["Authorization"].removeprefix("Bearer ") not in text
    assert PASSWORD not in text


def _forbidden(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": "forbidden",
        "detail": f"this API key lacks the `{scope}` scope",
    }


def _jobs_of(user_id: str) -> int:
    (row,) = db_fetch("SELECT count(*) AS n FROM jobs WHERE owner_id = $1::uuid", user_id)
    return int(row["n"])


def test_a_read_key_reads_but_cannot_submit_or_change_anything(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-15: a read-only key gets GET routes and nothing else; refused requests change nothing."""
    job = submit(client, auth, BUS, {})
    assert wait_for(client, job["job_id"], auth)["status"] == "completed"
    read = _key_headers(_create_key(client, auth, scopes=["read"]))
    me = client.get("/me", headers=auth).json()
    for path in (
        f"/jobs/{job['job_id']}/status",
        f"/jobs/{job['job_id']}/results",
        "/jobs",
        "/me",
        "/api-keys",
        "/watchlist",
        "/webhooks",
    ):
        assert client.get(path, headers=read).status_code == 200, path

    jobs_before = _jobs_of(me["id"])
    files_before = uploads()
    with BUS.open("rb") as handle:
        refused = client.post(
            "/process/image", files={"file": (BUS.name, handle, "image/jpeg")}, headers=read
        )
    _forbidden(refused, "write")
    _forbidden(client.delete(f"/jobs/{job['job_id']}", headers=read), "write")
    _forbidden(client.post("/watchlist", json={"plate": "AB123CD"}, headers=read), "write")
    _forbidden(client.patch("/me", json={"full_name": "Mallory"}, headers=read), "write")
    _forbidden(client.post("/api-keys", json={"name": "more"}, headers=read), "admin")

    assert _jobs_of(me["id"]) == jobs_before
    assert uploads() <= files_before
    assert client.get(f"/jobs/{job['job_id']}/status", headers=auth).status_code == 200
    assert client.get("/watchlist", headers=auth).json() == []
    assert client.get("/me", headers=auth).json()["full_name"] == me["full_name"]
    assert client.get("/api-keys", headers=auth).json()["total"] == 1


def test_a_write_key_cannot_manage_keys_webhooks_or_the_password(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-15: the default key submits jobs, but cannot mint keys (persistence) nor add or
    redirect webhooks (exfiltration)."""
    created = _create_key(client, auth)
    write = _key_headers(created)
    admin = _create_key(client, auth, "admin", scopes=["admin"])
    hook = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["job.completed"]},
        headers=auth,
    )
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["id"]

    _forbidden(client.post("/api-keys", json={"name": "persist"}, headers=write), "admin")
    _forbidden(client.delete(f"/api-keys/{admin['id']}", headers=write), "admin")
    _forbidden(
        client.post(
            "/webhooks",
            json={"url": "http://127.0.0.1:9/exfiltrate", "event_types": ["job.completed"]},
            headers=write,
        ),
        "admin",
    )
    _forbidden(
        client.patch(
            f"/webhooks/{hook_id}", json={"url": "http://127.0.0.1:9/elsewhere"}, headers=write
        ),
        "admin",
    )
    _forbidden(client.post(f"/webhooks/{hook_id}/rotate-secret", headers=write), "admin")
    _forbidden(client.delete(f"/webhooks/{hook_id}", headers=write), "admin")
    _forbidden(client.post("/webhooks/callback-secret", headers=write), "admin")
    _forbidden(
        client.post(
            "/auth/password/change",
            json={"current_password": PASSWORD, "new_password": "taken-over-password"},
            headers=write,
        ),
        "admin",
    )

    keys = client.get("/api-keys", headers=auth).json()
    assert sorted(key["id"] for key in keys["items"]) == sorted([created["id"], admin["id"]])
    (endpoint,) = client.get("/webhooks", headers=auth).json()["items"]
    assert endpoint["url"] == "http://127.0.0.1:9/hook"
    assert client.get("/me", headers=_key_headers(admin)).status_code == 200
    # Still a working key for what it is for.
    assert submit(client, write, BUS, {})["job_id"]
    # Any key may retire itself, though.
    assert client.delete(f"/api-keys/{created['id']}", headers=write).status_code == 204
    assert client.get("/me", headers=write).status_code == 401
    assert client.get("/me", headers=_key_headers(admin)).status_code == 200


def test_a_key_cannot_make_a_key_with_more_scopes_or_a_longer_life(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    expires = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    admin = _create_key(client, auth, scopes=["admin"], expires_at=expires.isoformat())
    headers = _key_headers(admin)
    for asked in ({}, {"scopes": ["write"]}, {"scopes": ["read", "admin", "write"]}):
        refused = client.post("/api-keys", json={"name": "wider", **asked}, headers=headers)
        assert refused.status_code == 403, asked
        assert refused.json() == {
            "error": "forbidden",
            "detail": "an API key cannot make a key with scopes it lacks: `write`",
        }
    later = (expires + timedelta(days=1)).isoformat()
    longer = client.post(
        "/api-keys",
        json={"name": "longer", "scopes": ["read"], "expires_at": later},
        headers=headers,
    )
    assert longer.status_code == 403
    assert "cannot make a key that outlives it" in longer.json()["detail"]

    child = _create_key(client, headers, "child", scopes=["read"])
    assert child["scopes"] == ["read"]
    assert child["created_by_key_id"] == admin["id"]
    # No expiry asked for: it expires with the key that made it.
    assert datetime.fromisoformat(child["expires_at"]) == expires
    assert client.get("/api-keys", headers=auth).json()["total"] == 2


def test_an_expired_key_is_refused(client: httpx.Client, auth: dict[str, str]) -> None:
    """F-15: a key with an expiry stops working then, with a message that says so."""
    for bad in (
        (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        datetime.now().replace(tzinfo=None).isoformat(),  # no time zone
        "tomorrow",
    ):
        invalid = client.post("/api-keys", json={"name": "x", "expires_at": bad}, headers=auth)
        assert invalid.status_code == 422, bad
        assert invalid.json()["fields"][0]["field"] == "expires_at"

    expires = datetime.now(UTC) + timedelta(seconds=2)
    created = _create_key(client, auth, expires_at=expires.isoformat())
    headers = _key_headers(created)
    assert client.get("/me", headers=headers).status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
    refused = client.get("/me", headers=headers)
    assert refused.status_code == 401
    body = refused.json()
    assert body["error"] == "not_authenticated"
    assert body["detail"].startswith("this API key expired at ")
    # An expired key no longer counts as live, but stays listed until revoked.
    (listed,) = client.get("/api-keys", headers=auth).json()["items"]
    assert listed["id"] == created["id"]


def test_revoking_a_key_revokes_the_keys_made_with_it(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-15: keys minted by a leaked key do not survive its revocation, at any depth."""
    root = _create_key(client, auth, "root", scopes=["admin", "write"])
    child = _create_key(client, _key_headers(root), "child", scopes=["admin"])
    grandchild = _create_key(client, _key_headers(child), "grandchild", scopes=["read"])
    sibling = _create_key(client, _key_headers(root), "sibling")
    unrelated = _create_key(client, auth, "unrelated")
    made = (child, grandchild, sibling)

    # Revoking a branch leaves the key above it alone.
    assert client.delete(f"/api-keys/{child['id']}", headers=auth).status_code == 204
    assert client.get("/me", headers=_key_headers(grandchild)).status_code == 401
    assert client.get("/me", headers=_key_headers(root)).status_code == 200

    assert client.delete(f"/api-keys/{root['id']}", headers=auth).status_code == 204
    for key in (root, *made):
        refused = client.get("/me", headers=_key_headers(key))
        assert refused.status_code == 401, key["name"]
        assert refused.json()["detail"] == "invalid API key"
    assert client.get("/me", headers=_key_headers(unrelated)).status_code == 200
    (live,) = client.get("/api-keys", headers=auth).json()["items"]
    assert live["id"] == unrelated["id"]

    revoked = [
        event["details"]
        for event in _events(client, auth)["items"]
        if event["action"] == "api_key_revoked"
    ]
    assert sorted(details["api_key_id"] for details in revoked) == sorted(
        key["id"] for key in (root, *made)
    )
    along = {details["api_key_id"]: details.get("revoked_with_api_key_id") for details in revoked}
    assert along == {
        child["id"]: None,
        grandchild["id"]: child["id"],
        root["id"]: None,
        sibling["id"]: root["id"],
    }


def test_key_list_is_paginated_and_hides_revoked_keys(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-21: GET /api-keys pages like the other lists and shows revoked keys only on request."""
    ids = [_create_key(client, auth, f"k{i}")["id"] for i in range(3)]
    assert client.delete(f"/api-keys/{ids[1]}", headers=auth).status_code == 204

    live = client.get("/api-keys", headers=auth).json()
    assert [key["id"] for key in live["items"]] == [ids[2], ids[0]]
    assert (live["total"], live["page"], live["page_size"]) == (2, 1, 100)

    second = client.get(
        "/api-keys", params={"include_revoked": True, "page": 2, "page_size": 1}, headers=auth
    ).json()
    assert [key["id"] for key in second["items"]] == [ids[1]]
    assert second["items"][0]["revoked_at"] is not None
    assert (second["total"], second["page"], second["page_size"]) == (3, 2, 1)
    for bad in ({"page_size": 101}, {"page_size": 0}, {"page": 0}):
        assert client.get("/api-keys", params=bad, headers=auth).status_code == 422, bad


def test_every_route_that_changes_something_needs_a_scope() -> None:
    """Every route taking a caller and a method other than GET or HEAD checks a scope, so a
    route added later cannot hand read keys its power by omission."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from api.deps import RequireScope, authenticated
    from api.main import app

    def calls(dependant: Any) -> list[Any]:
        found = []
        for dependency in dependant.dependencies:
            found += [dependency.call, *calls(dependency)]
        return found

    needs: dict[tuple[str, str], str] = {}
    for route in iter_route_contexts(app.routes):
        methods = route.methods or set()
        if not isinstance(route.original_route, APIRoute) or methods <= {"GET", "HEAD"}:
            continue
        found = calls(route.dependant)
        if authenticated not in found:
            continue
        scopes = [call.scope for call in found if isinstance(call, RequireScope)]
        for method in methods:
            needs[method, str(route.path)] = scopes[0] if scopes else "none"
    # Refuses API keys altogether, whatever their scopes (tests/integration/test_auth.py).
    assert needs.pop(("POST", "/api/v1/auth/signout-all")) == "none"
    # Any key may revoke itself; the service asks for `admin` to revoke another (tested above).
    assert needs.pop(("DELETE", "/api/v1/api-keys/{key_id}")) == "none"
    assert "none" not in needs.values(), needs
    assert needs["POST", "/api/v1/process/image"] == "write"
    assert needs["DELETE", "/api/v1/jobs/{job_id}"] == "write"
    assert needs["POST", "/api/v1/api-keys"] == "admin"
    assert needs["POST", "/api/v1/webhooks"] == "admin"
    assert needs["PATCH", "/api/v1/webhooks/{webhook_id}"] == "admin"
