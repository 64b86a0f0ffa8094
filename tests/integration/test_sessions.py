"""Sessions against the real API: forged keys, sign-out, password change, the refresh race,
the sign-in form, long passwords and argon2 off the event loop (audit F-02, F-03b, F-04,
F-09, F-10, F-13)."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from jose import jwt

from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.integration.conftest import PASSWORD, api_process, db_fetch, sse_messages, submit
from tests.media import PEDESTRIANS

NEW_PASSWORD = "another-horse-battery"


def _email() -> str:
    return f"session-{uuid.uuid4().hex[:8]}@example.com"


def _account(client: httpx.Client) -> str:
    email = _email()
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    return email


def _signin(client: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/auth/signin", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _refresh(client: httpx.Client, tokens: dict[str, Any]) -> httpx.Response:
    return client.post("/auth/token-refresh", json={"refresh_token": tokens["refresh_token"]})


def test_tokens_signed_with_a_placeholder_or_the_raw_secret_are_refused(
    client: httpx.Client,
) -> None:
    """F-02: only the key derived for JWT signing verifies a token."""
    tokens = _signin(client, _account(client))
    claims = jwt.get_unverified_claims(tokens["access_token"])
    for key in ("change-me", TEST_ENV["VIGIL_SECRET_KEY"]):
        forged = jwt.encode(claims | {"jti": str(uuid.uuid4())}, key, algorithm="HS256")
        answer = client.get("/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401, key
    assert client.get("/me", headers=_bearer(tokens)).status_code == 200


@dataclass
class Stream:
    """A job's event stream read on a thread: (event, data, when) as they arrive."""

    events: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    opened: threading.Event = field(default_factory=threading.Event)
    status: int | None = None

    def read(self, base_url: str, job_id: str, headers: dict[str, str]) -> None:
        with (
            httpx.Client(base_url=base_url, timeout=60) as http,
            http.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response,
        ):
            self.status = response.status_code
            for name, payload in sse_messages(response.iter_lines()):
                self.events.append((name, payload, time.monotonic()))
                self.opened.set()
        self.opened.set()


def test_password_change_ends_access_tokens_sessions_and_streams(client: httpx.Client) -> None:
    """F-09: a thief's access token, refresh token and open event stream all stop working."""
    email = _account(client)
    mine, stolen = _signin(client, email), _signin(client, email)
    key = client.post("/api-keys", json={"name": "ci"}, headers=_bearer(mine))
    assert key.status_code == 201, key.text
    job = submit(client, _bearer(mine), PEDESTRIANS, {})["job_id"]
    stream = Stream()
    reader = threading.Thread(
        target=stream.read, args=(str(client.base_url), job, _bearer(stolen)), daemon=True
    )
    reader.start()
    assert stream.opened.wait(30)
    assert stream.status == 200

    changed = client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=_bearer(mine),
    )
    assert changed.status_code == 204, changed.text
    changed_at = time.monotonic()

    reader.join(15)
    assert not reader.is_alive(), "the stream outlived the password change"
    name, data, when = stream.events[-1]
    assert name == "signed_out"
    assert data["job_id"] == job
    assert when - changed_at < 10
    for tokens in (mine, stolen):
        assert client.get("/me", headers=_bearer(tokens)).status_code == 401
        assert _refresh(client, tokens).status_code == 401
    # API keys are machine credentials: kept unless the server is told otherwise.
    assert client.get("/me", headers={"X-API-Key": key.json()["key"]}).status_code == 200

    fresh = _signin(client, email, NEW_PASSWORD)
    assert client.delete(f"/jobs/{job}", headers=_bearer(fresh)).status_code == 204
    (event,) = db_fetch(
        "SELECT a.details FROM audit_events a JOIN users u ON u.id = a.user_id "
        "WHERE u.email = $1 AND a.action = 'password_changed'",
        email,
    )
    assert json.loads(event["details"]) == {"api_keys_revoked": 0}


def test_signout_ends_that_session_only(client: httpx.Client) -> None:
    email = _account(client)
    first, second = _signin(client, email), _signin(client, email)
    rotated = _refresh(client, first).json()

    out = client.post("/auth/signout", json={"refresh_token": rotated["refresh_token"]})
    assert out.status_code == 204
    assert out.headers["cache-control"] == "no-store"
    # Every token of the session is over, the one rotated out before too.
    assert _refresh(client, rotated).status_code == 401
    assert _refresh(client, first).status_code == 401
    assert _refresh(client, second).status_code == 200
    # Again: nothing left to end, still 204.
    again = client.post("/auth/signout", json={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 204
    assert client.post("/auth/signout", json={"refresh_token": "x.y.z"}).status_code == 401
    assert client.post("/auth/signout", json={}).status_code == 422


def test_signout_all_ends_every_session_and_access_token(client: httpx.Client) -> None:
    email = _account(client)
    first, second = _signin(client, email), _signin(client, email)
    key = client.post("/api-keys", json={"name": "ci"}, headers=_bearer(first)).json()["key"]
    # A key is not a session: it cannot sign its owner out.
    refused = client.post("/auth/signout-all", headers={"X-API-Key": key})
    assert refused.status_code == 403
    assert client.get("/me", headers=_bearer(second)).status_code == 200

    assert client.post("/auth/signout-all", headers=_bearer(second)).status_code == 204
    for tokens in (first, second):
        assert client.get("/me", headers=_bearer(tokens)).status_code == 401
        assert _refresh(client, tokens).status_code == 401
    assert client.get("/me", headers=_bearer(_signin(client, email))).status_code == 200
    actions = db_fetch(
        "SELECT a.action FROM audit_events a JOIN users u ON u.id = a.user_id "
        "WHERE u.email = $1 AND a.action = 'signout_all'",
        email,
    )
    assert len(actions) == 1


async def _race(base_url: str, refresh_token: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:

        async def refresh() -> httpx.Response:
            return await http.post("/auth/token-refresh", json={"refresh_token": refresh_token})

        return list(await asyncio.gather(refresh(), refresh()))


def test_concurrent_refreshes_never_leave_a_live_token_in_a_revoked_family(
    client: httpx.Client,
) -> None:
    """F-10: the loser of a refresh race revokes the family, the winner's successor included."""
    email = _account(client)
    for _ in range(8):
        tokens = _signin(client, email)
        answers = asyncio.run(_race(str(client.base_url), tokens["refresh_token"]))
        winners = [answer.json() for answer in answers if answer.status_code == 200]
        reused = [answer for answer in answers if "already used" in answer.json().get("detail", "")]
        assert len(winners) == 1, [answer.text for answer in answers]
        successor = _refresh(client, winners[0])
        if reused:
            assert successor.status_code == 401, "a token lived on in a family revoked for reuse"
        else:
            assert successor.status_code == 200, successor.text


def test_sign_in_takes_only_url_encoded_forms(client: httpx.Client) -> None:
    """F-03b: a multipart sign-in (whose file parts would be spooled to disk) gets 415."""
    email = _account(client)
    credentials = {"username": email, "password": PASSWORD}
    multipart = client.post(
        "/auth/signin", data=credentials, files={"junk": ("j.bin", b"\0" * 64 * 1024)}
    )
    assert multipart.status_code == 415, multipart.text
    assert multipart.json()["error"] == "unsupported_media_type"
    assert client.post("/auth/signin", json=credentials).status_code == 415
    assert client.post("/auth/signin", content=b"username=x").status_code == 415
    missing = client.post("/auth/signin", data={"username": email})
    assert missing.status_code == 422
    assert missing.json()["fields"][0]["field"] == "password"
    oauth = client.post("/auth/signin", data=credentials | {"grant_type": "password", "scope": ""})
    assert oauth.status_code == 200
    assert client.post("/auth/signin", data=credentials | {"grant_type": "code"}).status_code == 422


def test_long_passwords_get_4xx_and_the_failed_sign_in_is_audited(client: httpx.Client) -> None:
    """F-13: past passlib's 4096-byte limit a password used to be a 500, and went unaudited."""
    email = _account(client)
    huge = "p" * 5000
    signin = client.post("/auth/signin", data={"username": email, "password": huge})
    assert signin.status_code == 401, signin.text
    (failed,) = db_fetch(
        "SELECT details FROM audit_events WHERE action = 'signin_failed' "
        "AND details->>'email' = $1",
        email,
    )
    assert json.loads(failed["details"])["reason"] == "password_too_long"

    tokens = _signin(client, email)
    for body in (
        {"current_password": huge, "new_password": NEW_PASSWORD},
        {"current_password": PASSWORD, "new_password": huge},
    ):
        changed = client.post("/auth/password/change", json=body, headers=_bearer(tokens))
        assert changed.status_code == 422, changed.text
    assert client.post("/auth/token-refresh", json={"refresh_token": huge}).status_code == 422
    signup = client.post("/auth/signup", json={"email": _email(), "password": huge})
    assert signup.status_code == 422
    assert _refresh(client, tokens).status_code == 200


async def _me_during_sign_ins(
    base_url: str, headers: dict[str, str], sign_ins: int
) -> tuple[list[float], float]:
    """/me latencies while `sign_ins` sign-ins (unknown e-mails: a dummy argon2 each) run,
    and how long the sign-ins took together."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def signin() -> None:
            form = {"username": _email(), "password": "wrong-password"}
            assert (await http.post("/auth/signin", data=form)).status_code == 401

        async def storm() -> float:
            started = time.perf_counter()
            await asyncio.gather(*(signin() for _ in range(sign_ins)))
            return time.perf_counter() - started

        async def probe() -> list[float]:
            await asyncio.sleep(0.2)
            latencies = []
            for _ in range(5):
                started = time.perf_counter()
                assert (await http.get("/me", headers=headers)).status_code == 200
                latencies.append(time.perf_counter() - started)
            return latencies

        duration, latencies = await asyncio.gather(storm(), probe())
        return latencies, duration


def test_sign_ins_do_not_stall_other_requests(client: httpx.Client, stack: LocalStack) -> None:
    """F-04: argon2 runs in threads of its own, so /me answers while sign-ins are hashing."""
    headers = _bearer(_signin(client, _account(client)))
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        client.get("/me", headers=headers)
        idle.append(time.perf_counter() - started)
    during, storm_s = asyncio.run(_me_during_sign_ins(client.base_url.__str__(), headers, 24))
    # On the event loop, each /me would wait for every sign-in queued before it (seconds).
    assert storm_s > 1.5, f"the sign-ins took only {storm_s:.2f} s: nothing to compare"
    assert statistics.median(during) < 1.0, (statistics.median(idle), during, storm_s)
    assert max(during) < storm_s / 2, (during, storm_s)


def test_a_session_ends_at_its_maximum_age_however_often_it_rotates(client: httpx.Client) -> None:
    """F-09: rotation used to keep a (stolen) session going for ever."""
    email = _account(client)
    tokens = _refresh(client, _signin(client, email)).json()
    db_fetch(
        "UPDATE refresh_families SET expires_at = now() - interval '1 second' "
        "WHERE user_id = (SELECT id FROM users WHERE email = $1)",
        email,
    )
    assert _refresh(client, tokens).status_code == 401


def test_a_password_change_can_revoke_api_keys_too(stack: LocalStack) -> None:
    """F-09: with VIGIL_REVOKE_API_KEYS_ON_PASSWORD_CHANGE, a leaked key dies with the
    password, in the same transaction."""
    env = {"VIGIL_REVOKE_API_KEYS_ON_PASSWORD_CHANGE": "true"}
    with (
        api_process("revoking-api", env) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=30) as client,
    ):
        email = _account(client)
        tokens = _signin(client, email)
        keys = [
            client.post("/api-keys", json={"name": name}, headers=_bearer(tokens)).json()["key"]
            for name in ("ci", "backup")
        ]
        changed = client.post(
            "/auth/password/change",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=_bearer(tokens),
        )
        assert changed.status_code == 204
        for key in keys:
            assert client.get("/me", headers={"X-API-Key": key}).status_code == 401
    (event,) = db_fetch(
        "SELECT a.details FROM audit_events a JOIN users u ON u.id = a.user_id "
        "WHERE u.email = $1 AND a.action = 'password_changed'",
        email,
    )
    assert json.loads(event["details"]) == {"api_keys_revoked": 2}
