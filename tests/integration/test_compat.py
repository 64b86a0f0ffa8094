"""Clients of the video-analysis API call its routes at the root (accounts) and under /tasks/:
they work unchanged, with the same auth and ownership rules as /api/v1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.integration.conftest import PASSWORD, wait_for
from tests.media import PEDESTRIANS


@pytest.fixture
def root(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        yield http


def _account(root: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"compat-{uuid.uuid4().hex[:8]}@example.com"
    created = root.post("/signup", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    signed_in = root.post("/signin", data={"username": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    return signed_in.json()["refresh_token"], {
        "Authorization": f"Bearer {signed_in.json()['access_token']}"
    }


def test_accounts_at_the_root(root: httpx.Client) -> None:
    refresh, headers = _account(root)
    me = root.get("/me/", headers=headers)
    assert me.status_code == 200
    assert root.get("/me/").status_code == 401
    patched = root.patch("/me/", json={"full_name": "Grace"}, headers=headers)
    assert patched.status_code == 200
    assert patched.json()["full_name"] == "Grace"

    refreshed = root.post("/authentication/token-refresh", json={"refresh_token": refresh})
    assert refreshed.status_code == 200, refreshed.text
    new_headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}

    changed = root.post(
        "/authentication/password/change/",
        json={"current_password": PASSWORD, "new_password": "another-long-password"},
        headers=new_headers,
    )
    assert changed.status_code == 204, changed.text
    email = me.json()["email"]
    assert root.post("/signin", data={"username": email, "password": PASSWORD}).status_code == 401
    again = root.post("/signin", data={"username": email, "password": "another-long-password"})
    assert again.status_code == 200


def test_tasks_at_the_root_are_owned(root: httpx.Client, stack: LocalStack) -> None:
    _, headers = _account(root)
    with PEDESTRIANS.open("rb") as handle:
        accepted = root.post(
            "/tasks/video-objects-detection/",
            files={"file": (PEDESTRIANS.name, handle, "video/x-msvideo")},
            data={"params": '{"max_frames": 2}'},
            headers=headers,
        )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    with httpx.Client(base_url=f"{stack.base_url}/api/v1", timeout=60) as api:
        assert wait_for(api, job_id, headers)["status"] == "completed"

    result = root.get(f"/tasks/video-analysis-result/{job_id}/", headers=headers)
    assert result.status_code == 200
    assert result.json()["summary"]["frames_analyzed"] == 2

    _, intruder = _account(root)
    foreign = root.get(f"/tasks/video-analysis-result/{job_id}/", headers=intruder)
    assert foreign.status_code == 404
    assert foreign.json()["error"] == "not_found"
    assert root.get(f"/tasks/video-analysis-result/{job_id}/").status_code == 401
    no_file = root.post("/tasks/video-objects-detection/", headers=headers)
    assert no_file.status_code in (415, 422)
