"""What the integration tests share: the session's stack (tests/fixtures/stack.py, a plugin of
the root conftest), clients of its API, users, and helpers to submit jobs and wait for them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.ops.localstack import LocalStack
from shared.settings import get_settings
from tests.conftest import RUN_DIR, TEST_ENV

# Re-exported: tests drop databases of their own and connect as the administrator too.
from tests.fixtures.stack import ADMIN_DSN as ADMIN_DSN
from tests.fixtures.stack import _drop_database as _drop_database

PASSWORD = "correct-horse-battery"


def db_fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            TEST_ENV["VIGIL_DATABASE_URL"].replace("postgres://", "postgresql://")
        )
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(fetch())


@contextmanager
def api_process(name: str, env: dict[str, str]) -> Iterator[LocalStack]:
    """An API process of its own (no worker) with `env` over the test settings, sharing the
    session stack's database; ready once /health/live answers, which needs no dependency."""
    local = LocalStack(env, RUN_DIR / f"{name}-{uuid.uuid4().hex[:6]}")
    try:
        local.start_api()
        deadline = time.monotonic() + 60
        while True:
            if local.processes["api"].poll() is not None:
                raise RuntimeError(f"{name} exited; see {local.log_dir}")
            try:
                httpx.get(f"{local.base_url}/api/v1/health/live", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield local
    finally:
        local.stop()


def sse_messages(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events from a stream's lines, as each completes: (event name, JSON data)."""
    name, data = "message", []
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


@pytest.fixture
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.base_url}/api/v1", timeout=60) as http:
        yield http


def signup_and_signin(client: httpx.Client, email: str | None = None) -> dict[str, str]:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post("/auth/signup", json={"email": email, "password": PASSWORD}).status_code == 201
    )
    tokens = client.post("/auth/signin", data={"username": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    return signup_and_signin(client)


def uploads() -> set[Path]:
    directory = get_settings().uploads_dir
    return set(directory.iterdir()) if directory.exists() else set()


@pytest.fixture
def user(client: httpx.Client) -> Iterator[dict[str, str]]:
    """A fresh user whose test must leave no job and no upload behind (bad-input tests)."""
    before = uploads()
    headers = signup_and_signin(client)
    yield headers
    me = client.get("/me", headers=headers).json()
    assert not db_fetch("SELECT 1 FROM jobs WHERE owner_id = $1::uuid", me["id"])
    assert uploads() <= before


def wait_for_first_frames(
    client: httpx.Client, job_id: str, headers: dict[str, str], timeout_s: float = 60
) -> dict[str, Any]:
    """Poll a job's status until it has analysed at least one frame."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"/jobs/{job_id}/status", headers=headers).json()
        if status["frames_processed"] > 0:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} analysed no frame in {timeout_s}s: {status}")


def wait_for(
    client: httpx.Client, job_id: str, headers: dict[str, str], timeout_s: float = 120
) -> dict[str, Any]:
    """Poll a job's status until it completes or fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}/status", headers=headers).json()
        if status["status"] in ("completed", "failed"):
            return dict(status)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s: {status}")


MIME = {
    ".avi": "video/x-msvideo",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}


def submit(
    client: httpx.Client, headers: dict[str, str], path: Path, params: dict[str, Any]
) -> dict[str, Any]:
    route = "/process/image" if MIME[path.suffix].startswith("image/") else "/process/video"
    with path.open("rb") as handle:
        response = client.post(
            route,
            files={"file": (path.name, handle, MIME[path.suffix])},
            data={"params": json.dumps(params)},
            headers=headers,
        )
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


def finished_results(
    client: httpx.Client, headers: dict[str, str], job_id: str, page_size: int = 500
) -> dict[str, Any]:
    status = wait_for(client, job_id, headers, timeout_s=180)
    assert status["status"] == "completed", status
    response = client.get(
        f"/jobs/{job_id}/results", params={"page_size": page_size}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
