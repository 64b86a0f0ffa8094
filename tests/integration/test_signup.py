"""Sign-up modes (VIGIL_SIGNUP) and the operators' CLI (`python -m api.admin`), against API
processes of their own sharing the session stack's database, and the CLI as a real subprocess."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.ops.localstack import REPO_ROOT, LocalStack
from shared.settings import Settings
from tests.integration.conftest import PASSWORD, api_process, db_fetch


@contextmanager
def api_with(name: str, env: dict[str, str]) -> Iterator[httpx.Client]:
    """An API alone (no worker) with `env` over the test settings, and a client for it."""
    with (
        api_process(name, env) as local,
        httpx.Client(base_url=f"{local.base_url}/api/v1", timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def closed(stack: LocalStack) -> Iterator[httpx.Client]:
    # Unset outside dev means closed.
    with api_with("signup-closed-api", {"VIGIL_SIGNUP": ""}) as client:
        yield client


@pytest.fixture(scope="module")
def invite_only(stack: LocalStack) -> Iterator[httpx.Client]:
    with api_with("signup-invite-api", {"VIGIL_SIGNUP": "invite"}) as client:
        yield client


def admin(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m api.admin ARGS` against the test database, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "api.admin", *args],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _email() -> str:
    return f"signup-{uuid.uuid4().hex[:8]}@example.com"


def _users_named(email: str) -> int:
    (row,) = db_fetch("SELECT count(*) AS n FROM users WHERE email = $1", email)
    return int(row["n"])


def _signup(client: httpx.Client, email: str, **extra: str) -> httpx.Response:
    return client.post("/auth/signup", json={"email": email, "password": PASSWORD, **extra})


def _invite() -> str:
    made = admin("invite", "--expires-days", "1")
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert code.startswith("vi_")
    assert "valid until" in made.stderr
    return code


def test_signup_mode_defaults_to_open_in_dev_only() -> None:
    assert Settings(env="dev", signup=None).signup_mode == "open"
    assert Settings(env="prod", signup=None).signup_mode == "closed"
    assert Settings(env="prod", signup="invite").signup_mode == "invite"
    assert Settings(env="dev", signup="closed").signup_mode == "closed"


def test_closed_signup_refuses_and_creates_nothing(closed: httpx.Client) -> None:
    """F-16: with sign-up closed nobody can make an account over the API."""
    email = _email()
    refused = _signup(closed, email)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "forbidden",
        "detail": "sign-up is closed on this server: ask its operator for an account",
    }
    # An invite code opens nothing either.
    assert _signup(closed, email, invite_code=_invite()).status_code == 403
    assert _users_named(email) == 0


def test_invite_signup_needs_a_valid_unused_code(invite_only: httpx.Client) -> None:
    """F-16: invite mode admits holders of a code, once per code."""
    email = _email()
    missing = _signup(invite_only, email)
    assert missing.status_code == 403
    assert missing.json()["detail"] == (
        "sign-up on this server needs an invite code: send `invite_code`"
    )
    wrong = _signup(invite_only, email, invite_code="vi_" + "x" * 32)
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "this invite code is unknown, expired or already used"
    assert _users_named(email) == 0

    code = _invite()
    (row,) = db_fetch(
        "SELECT * FROM invites WHERE code_hash = $1", hashlib.sha256(code.encode()).hexdigest()
    )
    assert row["used_at"] is None
    assert code not in str(dict(row))

    # Refused for another reason (the address is taken): the code stays usable.
    taken = _email()
    assert _signup(invite_only, taken, invite_code=_invite()).status_code == 201
    assert _signup(invite_only, taken, invite_code=code).status_code == 409

    created = _signup(invite_only, email, invite_code=code)
    assert created.status_code == 201, created.text
    (used,) = db_fetch("SELECT used_at, used_by_id FROM invites WHERE id = $1", row["id"])
    assert used["used_at"] is not None
    assert str(used["used_by_id"]) == created.json()["id"]

    again = _email()
    reused = _signup(invite_only, again, invite_code=code)
    assert reused.status_code == 403
    assert reused.json()["detail"] == "this invite code is unknown, expired or already used"
    assert _users_named(again) == 0


def test_an_expired_invite_is_refused(invite_only: httpx.Client) -> None:
    code = "vi_expired-" + uuid.uuid4().hex
    db_fetch(
        "INSERT INTO invites (id, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $3)",
        uuid.uuid4(),
        hashlib.sha256(code.encode()).hexdigest(),
        datetime.now(UTC) - timedelta(seconds=1),
    )
    email = _email()
    assert _signup(invite_only, email, invite_code=code).status_code == 403
    assert _users_named(email) == 0


def test_the_cli_creates_a_user_who_can_sign_in(closed: httpx.Client) -> None:
    """F-16: with sign-up closed, operators make accounts with the CLI."""
    email = _email()
    made = admin("create-user", email, "--password-stdin", "--full-name", "Ops", stdin=PASSWORD)
    assert made.returncode == 0, made.stderr
    assert PASSWORD not in made.stdout + made.stderr

    signed_in = closed.post("/auth/signin", data={"username": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    me = closed.get("/me", headers=auth).json()
    assert (me["email"], me["full_name"]) == (email, "Ops")

    again = admin("create-user", email, "--password-stdin", stdin="another-password-1")
    assert again.returncode == 1
    assert "exists already" in again.stderr

    short = _email()
    refused = admin("create-user", short, "--password-stdin", stdin="short")
    assert refused.returncode == 1
    assert "password" in refused.stderr
    assert _users_named(short) == 0


def test_the_cli_lists_disables_and_enables_users(closed: httpx.Client) -> None:
    email = _email()
    made = admin("create-user", email, "--password-stdin", "--superuser", stdin=PASSWORD)
    assert made.returncode == 0, made.stderr

    assert admin("disable-user", email).returncode == 0
    refused = closed.post("/auth/signin", data={"username": email, "password": PASSWORD})
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this account is disabled"
    listed = admin("list-users")
    assert listed.returncode == 0
    (line,) = [line for line in listed.stdout.splitlines() if f'"{email}"' in line]
    assert '"is_active": false' in line
    assert '"is_superuser": true' in line

    assert admin("enable-user", email).returncode == 0
    signin = closed.post("/auth/signin", data={"username": email, "password": PASSWORD})
    assert signin.status_code == 200

    unknown = admin("disable-user", _email())
    assert unknown.returncode == 1
    assert "no account" in unknown.stderr
