"""API keys, the audit trail and the access log, against the real API, worker and Postgres."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.integration.conftest import PASSWORD, db_fetch, signup_and_signin, submit, wait_for
from tests.media import BUS


def _create_key(client: httpx.Client, auth: dict[str, str], name: str = "ci") -> dict[str, Any]:
    response = client.post("/api-keys", json={"name": name}, headers=auth)
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

    listed = client.get("/api-keys", headers=auth).json()
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert "key" not in item
    assert item["id"] == created["id"]
    assert item["prefix"] == created["prefix"]
    assert key not in json.dumps(listed)

    (row,) = db_fetch("SELECT * FROM api_keys WHERE id = $1", uuid.UUID(created["id"]))
    expected = hmac.new(
        TEST_ENV["VIGIL_SECRET_KEY"].encode(), key.encode(), hashlib.sha256
    ).hexdigest()
    assert row["key_hash"] == expected
    assert key not in json.dumps([str(value) for value in row.values()])


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
    (item,) = client.get("/api-keys", headers=auth).json()["items"]
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
    assert client.get("/api-keys", headers=other).json() == {"items": [], "total": 0}
    assert client.get("/me", headers=_key_headers(created)).status_code == 200


def test_a_key_acts_as_its_owner_on_keys_and_webhooks_too_and_the_audit_names_it(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    first = _create_key(client, auth)
    headers = _key_headers(first)
    second = _create_key(client, headers, "made with a key")
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
    assert client.get("/api-keys", headers=auth).json()["total"] == 101


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
        "description": "an API key from POST /api/v1/api-keys; acts as its owner",
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
