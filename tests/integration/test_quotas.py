"""Per-user quotas and the API's memory while checking uploads, against an API process of
its own (low quotas; a fresh process whose peak memory means something). It shares the
session stack's database, Redis and worker, which runs the jobs it accepts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.hostile_media import truncated_png
from tests.integration.conftest import PASSWORD, api_process, db_fetch, uploads, wait_for
from tests.media import CARS_MP4, PEDESTRIANS, box

MB = 1024 * 1024
MAX_ACTIVE_JOBS = 2
MAX_STORAGE_BYTES = 4_000_000
QUOTAS = {
    "VIGIL_MAX_ACTIVE_JOBS_PER_USER": str(MAX_ACTIVE_JOBS),
    "VIGIL_MAX_STORAGE_BYTES_PER_USER": str(MAX_STORAGE_BYTES),
}
SHORT_CLIP = Path(CARS_MP4.parent / "traffic_sample1.mp4")


@pytest.fixture(scope="module")
def quota_api(stack: LocalStack) -> Iterator[LocalStack]:
    with api_process("quota-api", QUOTAS) as local:
        yield local


@pytest.fixture
def client(quota_api: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{quota_api.base_url}/api/v1", timeout=120) as http:
        yield http


@pytest.fixture
def headers(client: httpx.Client) -> dict[str, str]:
    email = f"quota-{uuid.uuid4().hex[:8]}@example.com"
    assert client.post("/auth/signup", json={"email": email, "password": PASSWORD}).is_success
    tokens = client.post("/auth/signin", data={"username": email, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _video(
    client: httpx.Client, headers: dict[str, str], path: Path, **params: Any
) -> httpx.Response:
    return client.post(
        "/process/video",
        files={"file": (path.name, path.read_bytes())},
        data={"params": json.dumps(params)},
        headers=headers,
    )


def _job_count(client: httpx.Client, headers: dict[str, str]) -> int:
    return int(client.get("/jobs", headers=headers).json()["total"])


def _peak_rss(api: LocalStack) -> int:
    status = Path(f"/proc/{api.processes['api'].pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_parallel_image_checks_take_bounded_memory(
    quota_api: LocalStack, client: httpx.Client, headers: dict[str, str]
) -> None:
    """F-12: six 190 KB PNGs of 7000x7000 RGBA checked at once took the API from 131 MB to
    1.28 GB (196 MB each, all decoded in parallel); two decode at a time now. These are cut
    short, so each is decoded nearly whole, then refused."""
    png = truncated_png()
    assert len(png) < 250_000
    before_uploads = uploads()
    before = _peak_rss(quota_api)

    def post(_: int) -> httpx.Response:
        return client.post(
            "/process/image", files={"file": ("wide.png", png, "image/png")}, headers=headers
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert [r.status_code for r in responses] == [422] * 8, responses[0].text
    assert all("truncated" in r.json()["detail"] for r in responses)
    assert _peak_rss(quota_api) - before < 600 * MB
    assert _job_count(client, headers) == 0
    assert uploads() <= before_uploads


def test_active_jobs_quota(client: httpx.Client, headers: dict[str, str]) -> None:
    """One account cannot fill the queue every user shares: past the quota a submission is
    429 and creates nothing, however many arrive at once."""
    before = uploads()

    def submit(_: int) -> httpx.Response:
        return _video(client, headers, SHORT_CLIP)

    with ThreadPoolExecutor(MAX_ACTIVE_JOBS + 2) as pool:
        responses = list(pool.map(submit, range(MAX_ACTIVE_JOBS + 2)))
    accepted = [r for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code != 202]
    assert len(accepted) == MAX_ACTIVE_JOBS, [r.text for r in responses]
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json()["error"] == "active_jobs_quota_exceeded"
        assert int(response.headers["Retry-After"]) > 0
    assert _job_count(client, headers) == MAX_ACTIVE_JOBS
    assert len(uploads() - before) <= MAX_ACTIVE_JOBS

    for response in accepted:
        assert wait_for(client, response.json()["job_id"], headers)["status"] == "completed"
    again = _video(client, headers, SHORT_CLIP)
    assert again.status_code == 202, again.text
    wait_for(client, again.json()["job_id"], headers)


def test_a_batch_counts_every_file(client: httpx.Client, headers: dict[str, str]) -> None:
    files = [("files", (f"clip{i}.mp4", SHORT_CLIP.read_bytes())) for i in range(3)]
    before = uploads()
    response = client.post("/process/batch", files=files, headers=headers)
    assert response.status_code == 429, response.text
    assert _job_count(client, headers) == 0
    assert uploads() <= before


def test_storage_quota_counts_waiting_uploads_and_annotated_outputs(
    client: httpx.Client, headers: dict[str, str], tmp_path: Path
) -> None:
    first = _video(client, headers, PEDESTRIANS, annotate=True, max_frames=25)
    assert first.status_code == 202, first.text
    first_id = first.json()["job_id"]

    # The first upload (3.0 MB) waits for the worker: 1.2 MB more is past the 4 MB quota.
    before = uploads()
    refused = _video(client, headers, CARS_MP4)
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["error"] == "storage_quota_exceeded"
    assert (body["quota_bytes"], body["upload_bytes"]) == (
        MAX_STORAGE_BYTES,
        CARS_MP4.stat().st_size,
    )
    assert body["used_bytes"] == PEDESTRIANS.stat().st_size
    assert _job_count(client, headers) == 1
    assert uploads() <= before

    # Analysed, the upload is deleted; its annotated output is kept and counts instead.
    assert wait_for(client, first_id, headers)["status"] == "completed"
    annotated = client.get(f"/jobs/{first_id}/annotated", headers=headers)
    assert annotated.status_code == 200
    padded = tmp_path / "padded.mp4"
    padded.write_bytes(CARS_MP4.read_bytes() + box(b"free", bytes(3 * MB)))
    still_refused = _video(client, headers, padded)
    assert still_refused.status_code == 413, still_refused.text
    assert still_refused.json()["used_bytes"] == len(annotated.content)

    assert client.delete(f"/jobs/{first_id}", headers=headers).status_code == 204
    accepted = _video(client, headers, PEDESTRIANS, max_frames=5)
    assert accepted.status_code == 202, accepted.text
    wait_for(client, accepted.json()["job_id"], headers)
    rows = db_fetch("SELECT count(*) AS n FROM jobs WHERE id = $1::uuid", first_id)
    assert rows[0]["n"] == 0
