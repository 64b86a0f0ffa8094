"""Rate limits and CORS, against API processes of their own with low limits.

They share the session stack's database; their counters live in another Redis database,
flushed before each test, so the main stack's traffic cannot fill their windows. Clients
bind distinct loopback addresses (127.0.0.x) to be distinct client IPs; the limited API trusts
127.0.0.1 as a reverse proxy, so a client binding it names its address in X-Forwarded-For."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from api.ratelimit import window
from shared.ops.localstack import LocalStack, free_port
from tests.integration.conftest import PASSWORD, api_process, db_fetch

LIMITED_REDIS = "redis://127.0.0.1:6379/12"
ORIGIN = "https://app.example.com"
LIMITS = {
    "VIGIL_REDIS_URL": LIMITED_REDIS,
    "VIGIL_RATE_LIMIT_AUTH_PER_MINUTE": "3",
    "VIGIL_RATE_LIMIT_IP_PER_MINUTE": "20",
    "VIGIL_RATE_LIMIT_USER_PER_MINUTE": "5",
    "VIGIL_RATE_LIMIT_API_KEY_PER_MINUTE": "3",
    "VIGIL_RATE_LIMIT_SIGNIN_PER_ACCOUNT_PER_HOUR": "6",
    "VIGIL_RATE_LIMIT_SIGNIN_FAILURES_PER_NETWORK_PER_HOUR": "4",
    "VIGIL_TRUSTED_PROXIES": '["127.0.0.1"]',
    "VIGIL_CORS_ORIGINS": f'["{ORIGIN}"]',
}


@pytest.fixture(scope="module")
def limited(stack: LocalStack) -> Iterator[LocalStack]:
    with api_process("limited-api", LIMITS) as local:
        yield local


@pytest.fixture(autouse=True)
def fresh_windows() -> None:
    """Empty counters, and a test that starts well inside a minute (and so an hour) window:
    one crossing a boundary mid-way would see its counts reset."""
    _, left = window(time.time(), 60)
    if left < 15:
        time.sleep(left + 0.1)
    redis.Redis.from_url(LIMITED_REDIS).flushdb()


@contextmanager
def client_from(api: LocalStack, address: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=f"{api.base_url}/api/v1", transport=transport, timeout=30) as client:
        yield client


def _email() -> str:
    return f"limits-{uuid.uuid4().hex[:8]}@example.com"


def _signin(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/signin", data={"username": email, "password": password})


def assert_limited(response: httpx.Response, limit: int, max_wait_s: int) -> None:
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= max_wait_s
    assert f"retry in {retry_after} s" in body["detail"]
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"


def _refresh_tokens(email: str) -> int:
    (row,) = db_fetch(
        "SELECT count(*) AS n FROM refresh_tokens r JOIN users u ON u.id = r.user_id "
        "WHERE u.email = $1",
        email,
    )
    return int(row["n"])


def test_signin_brute_force_is_refused_per_address(limited: LocalStack) -> None:
    email = _email()
    with client_from(limited, "127.0.0.2") as client:
        assert (
            client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code
            == 201
        )
        assert _signin(client, email, "guess-number-1").status_code == 401
        assert _signin(client, email, "guess-number-2").status_code == 401
        # The right password, but too late: a 429 changes nothing and issues nothing.
        assert_limited(_signin(client, email), limit=3, max_wait_s=60)
        assert _refresh_tokens(email) == 0
        other = _email()
        assert_limited(
            client.post("/auth/signup", json={"email": other, "password": PASSWORD}), 3, 60
        )
        assert db_fetch("SELECT 1 FROM users WHERE email = $1", other) == []
        assert_limited(client.post("/auth/token-refresh", json={"refresh_token": "x"}), 3, 60)
        (failed,) = db_fetch(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'signin_failed' "
            "AND details->>'email' = $1",
            email,
        )
        assert failed["n"] == 2
    with client_from(limited, "127.0.0.3") as elsewhere:
        assert _signin(elsewhere, email).status_code == 200


PROXY = "127.0.0.1"


def _signin_via_proxy(
    client: httpx.Client, email: str, forwarded_for: str, password: str = PASSWORD
) -> httpx.Response:
    return client.post(
        "/auth/signin",
        data={"username": email, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    )


def _failed_signins(email: str) -> list[tuple[str | None, str]]:
    rows = db_fetch(
        "SELECT ip, details FROM audit_events WHERE action = 'signin_failed' "
        "AND details->>'email' = $1 ORDER BY id",
        email,
    )
    return [(row["ip"], json.loads(row["details"])["reason"]) for row in rows]


def test_failed_sign_ins_lock_out_the_guessing_network_not_the_owner(
    limited: LocalStack,
) -> None:
    """F-05: 30 wrong guesses from one network used to lock the owner out everywhere."""
    email = _email()
    with client_from(limited, PROXY) as client:
        signup = client.post(
            "/auth/signup",
            json={"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.10"},
        )
        assert signup.status_code == 201
        # Each guess from another address of one /24: the per-address limits never trip.
        codes = [
            _signin_via_proxy(client, email, f"198.51.100.{i}", f"guess-{i}").status_code
            for i in range(1, 33)
        ]
        assert codes[:4] == [401] * 4
        assert set(codes[4:]) == {429}
        # The right password from that network waits too...
        assert_limited(_signin_via_proxy(client, email, "198.51.100.200"), 4, 3600)
        # ...while its owner, elsewhere, signs in.
        assert _signin_via_proxy(client, email, "203.0.113.9").status_code == 200
    assert len(_failed_signins(email)) == 4


def test_a_distributed_attack_blocks_only_the_networks_that_took_part(
    limited: LocalStack,
) -> None:
    """F-05: past the account's budget (6 failures), each network that failed waits; one
    that has not (the owner's) still gets in, and a right password never counts."""
    email = _email()
    with client_from(limited, PROXY) as client:
        signup = client.post(
            "/auth/signup",
            json={"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.11"},
        )
        assert signup.status_code == 201
        for _ in range(2):
            assert _signin_via_proxy(client, email, "203.0.113.9").status_code == 200
        for i in range(6):
            wrong = _signin_via_proxy(client, email, f"198.51.{100 + i}.7", "wrong-password")
            assert wrong.status_code == 401
        refused = _signin_via_proxy(client, email, "198.51.100.8")
        assert_limited(refused, limit=6, max_wait_s=3600)
        assert "this network has failed it" in refused.json()["detail"]
        assert _signin_via_proxy(client, email, "203.0.113.9").status_code == 200
        assert _signin_via_proxy(client, email, "192.0.2.77").status_code == 200
        assert _refresh_tokens(email) == 4


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(limited: LocalStack) -> None:
    """F-08: rotating X-Forwarded-For used to give every guess a fresh per-address budget."""
    email = _email()
    with client_from(limited, "127.0.0.13") as client:
        codes = [
            _signin_via_proxy(client, email, f"10.9.8.{i}", "guess").status_code for i in range(4)
        ]
    assert codes == [401, 401, 401, 429]
    assert _failed_signins(email) == [("127.0.0.13", "unknown_email")] * 3


def test_a_trusted_proxy_names_the_client_and_garbage_falls_back_to_the_peer(
    limited: LocalStack,
) -> None:
    """F-08: the audit trail records the forwarded client; a header that is not an address
    (100 characters used to be a 500, and an unaudited sign-in) falls back to the proxy."""
    email = _email()
    with client_from(limited, PROXY) as client:
        for forwarded in ("203.0.113.50", "A" * 100, "198.51.100.1, 127.0.0.1"):
            wrong = _signin_via_proxy(client, email, forwarded, "wrong-password")
            assert wrong.status_code == 401, wrong.text
    assert [ip for ip, _ in _failed_signins(email)] == ["203.0.113.50", PROXY, "198.51.100.1"]


def _bearer(client: httpx.Client) -> tuple[str, dict[str, str]]:
    email = _email()
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    return email, {"Authorization": f"Bearer {_signin(client, email).json()['access_token']}"}


def _key(client: httpx.Client, bearer: dict[str, str]) -> dict[str, str]:
    created = client.post("/api-keys", json={"name": "limited"}, headers=bearer)
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


def _keys_of(email: str) -> int:
    (row,) = db_fetch(
        "SELECT count(*) AS n FROM api_keys k JOIN users u ON u.id = k.owner_id WHERE u.email = $1",
        email,
    )
    return int(row["n"])


def test_a_users_keys_and_tokens_share_the_per_user_limit(limited: LocalStack) -> None:
    with client_from(limited, "127.0.0.8") as client:
        email, bearer = _bearer(client)
        first, second = _key(client, bearer), _key(client, bearer)  # 2 of the user's 5
        assert client.get("/me", headers=first).status_code == 200
        assert client.get("/me", headers=first).status_code == 200
        assert client.get("/me", headers=second).status_code == 200
        # Each key is within its own 3, but together they have spent the user's 5: another key
        # buys no more requests.
        for headers in (second, first, bearer):
            refused = client.get("/me", headers=headers)
            assert_limited(refused, limit=5, max_wait_s=60)
            assert "requests per minute for this user" in refused.json()["detail"]
        # Throttled before it ran: no third key.
        assert_limited(client.post("/api-keys", json={"name": "x"}, headers=bearer), 5, 60)
        assert _keys_of(email) == 2


def test_an_api_key_has_a_limit_of_its_own(limited: LocalStack) -> None:
    with client_from(limited, "127.0.0.12") as client:
        _, bearer = _bearer(client)
        key = _key(client, bearer)
        for _ in range(3):
            assert client.get("/me", headers=key).status_code == 200
        refused = client.get("/me", headers=key)
        assert_limited(refused, limit=3, max_wait_s=60)
        assert "with this API key" in refused.json()["detail"]
        # The owner has spent 4 of 5: the key's limit was the one that ran out.
        assert client.get("/me", headers=bearer).status_code == 200


def test_every_request_counts_per_address_except_monitoring(limited: LocalStack) -> None:
    with client_from(limited, "127.0.0.9") as client:
        for path in ("/me", "/no-such-route") * 10:
            assert client.get(path).status_code in (401, 404)
        # Over the limit, health checks still get through; a scrape of /metrics does not.
        for _ in range(2):
            assert client.get("/health").status_code != 429
        assert client.get(f"{limited.base_url}/metrics").status_code == 429
        limited_response = client.get("/me", headers={"Origin": ORIGIN})
        assert_limited(limited_response, limit=20, max_wait_s=60)
        # A browser may read why: the CORS headers reach the 429 too.
        assert limited_response.headers["access-control-allow-origin"] == ORIGIN
        exposed = limited_response.headers["access-control-expose-headers"].lower()
        assert {"retry-after", "x-ratelimit-limit", "x-ratelimit-remaining"} <= set(
            exposed.replace(" ", "").split(",")
        )
    with client_from(limited, "127.0.0.10") as elsewhere:
        assert elsewhere.get("/me").status_code == 401


def _preflight(base_url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{base_url}/api/v1/me",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )


def test_cors_preflight_answers_allowed_origins_only(
    limited: LocalStack, stack: LocalStack
) -> None:
    allowed = _preflight(limited.base_url, ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    assert "DELETE" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers

    foreign = _preflight(limited.base_url, "https://evil.example.com")
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    simple = httpx.get(
        f"{limited.base_url}/api/v1/me", headers={"Origin": "https://evil.example.com"}
    )
    assert "access-control-allow-origin" not in simple.headers

    # No VIGIL_CORS_ORIGINS (the session stack): no CORS at all.
    assert "access-control-allow-origin" not in _preflight(stack.base_url, ORIGIN).headers


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"VIGIL_RATE_LIMIT_ENABLED": "false"}, id="disabled"),
        pytest.param({"VIGIL_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, id="redis-down"),
    ],
)
def test_limits_not_enforced_when_disabled_or_redis_is_unreachable(
    stack: LocalStack, env: dict[str, str]
) -> None:
    with api_process(f"unlimited-api-{uuid.uuid4().hex[:6]}", LIMITS | env) as api:
        email = _email()
        with client_from(api, "127.0.0.11") as client:
            assert (
                client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code
                == 201
            )
            for _ in range(5):
                assert _signin(client, email).status_code == 200
        log = (api.log_dir / "api.log").read_text()
    warned = "rate limits not enforced: Redis is unreachable" in log
    assert warned == ("VIGIL_REDIS_URL" in env)
