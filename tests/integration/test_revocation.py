"""Revocation reaches every API process on its next request. Each process remembers the access
tokens it has verified (api/auth/security.py) and the status route checks a token's user in the
query that reads the job (api/jobs/dependencies.py): neither may let a revoked credential
through. Two API processes, each having served the credential, see each revocation at once."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.conftest import REPO_ROOT
from tests.integration.conftest import PASSWORD, api_process
from tests.media import BUS


@pytest.fixture(scope="module")
def second_api(stack: LocalStack) -> Iterator[LocalStack]:
    with api_process("second-api", {}) as api:
        yield api


def _clients(*apis: LocalStack) -> list[httpx.Client]:
    return [httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=60) for api in apis]


def _signed_in(client: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"revoke-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    return email, _bearer(client, email)


def _bearer(client: httpx.Client, email: str) -> dict[str, str]:
    signin = client.post("/auth/signin", data={"username": email, "password": PASSWORD})
    assert signin.status_code == 200, signin.text
    return {"Authorization": f"Bearer {signin.json()['access_token']}"}


def _job(client: httpx.Client, headers: dict[str, str]) -> str:
    with BUS.open("rb") as image:
        response = client.post("/process/image", files={"file": image}, headers=headers)
    assert response.status_code in (200, 202), response.text
    return str(response.json()["job_id"])


def _codes(clients: list[httpx.Client], job_id: str, headers: dict[str, str]) -> set[int]:
    """What each process answers to a status poll and to /me with `headers`."""
    return {
        client.get(path, headers=headers).status_code
        for client in clients
        for path in (f"/jobs/{job_id}/status", "/me")
    }


def test_signing_out_everywhere_ends_a_token_in_every_process(
    stack: LocalStack, second_api: LocalStack
) -> None:
    clients = _clients(stack, second_api)
    _, bearer = _signed_in(clients[0])
    job_id = _job(clients[0], bearer)
    # Each process has verified, and so remembers, the token.
    assert _codes(clients, job_id, bearer) == {200}
    assert clients[1].post("/auth/signout-all", headers=bearer).status_code == 204
    assert _codes(clients, job_id, bearer) == {401}


def test_a_password_change_ends_a_token_in_every_process(
    stack: LocalStack, second_api: LocalStack
) -> None:
    clients = _clients(stack, second_api)
    _, bearer = _signed_in(clients[0])
    job_id = _job(clients[0], bearer)
    assert _codes(clients, job_id, bearer) == {200}
    changed = clients[0].post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "a-new-horse-battery"},
        headers=bearer,
    )
    assert changed.status_code == 204
    assert _codes(clients, job_id, bearer) == {401}


def test_a_disabled_user_is_refused_by_every_process(
    stack: LocalStack, second_api: LocalStack
) -> None:
    clients = _clients(stack, second_api)
    email, bearer = _signed_in(clients[0])
    key = clients[0].post("/api-keys", json={"name": "poller"}, headers=bearer).json()["key"]
    job_id = _job(clients[0], bearer)
    api_key = {"X-API-Key": key}
    assert _codes(clients, job_id, bearer) == _codes(clients, job_id, api_key) == {200}
    disabled = subprocess.run(
        [sys.executable, "-m", "api.admin", "disable-user", email],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert disabled.returncode == 0, disabled.stderr
    assert _codes(clients, job_id, bearer) == _codes(clients, job_id, api_key) == {401}


def test_a_deleted_api_key_is_refused_by_every_process(
    stack: LocalStack, second_api: LocalStack
) -> None:
    clients = _clients(stack, second_api)
    _, bearer = _signed_in(clients[0])
    created = clients[0].post("/api-keys", json={"name": "poller"}, headers=bearer).json()
    job_id = _job(clients[0], bearer)
    api_key = {"X-API-Key": created["key"]}
    assert _codes(clients, job_id, api_key) == {200}
    assert clients[1].delete(f"/api-keys/{created['id']}", headers=bearer).status_code == 204
    assert _codes(clients, job_id, api_key) == {401}
    # The owner's own token goes on.
    assert _codes(clients, job_id, bearer) == {200}
