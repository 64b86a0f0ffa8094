"""The Python SDK and the `vigil` CLI against the real stack (API, worker, Postgres, Redis)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from vigil_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    ImageResult,
    JobAccepted,
    JobStatus,
    NotFoundError,
    ValidationError,
    verify_webhook,
)

from shared.ops.localstack import LocalStack
from tests.conftest import MEDIA_DIR
from tests.integration.conftest import PASSWORD
from tests.media import BUS, PLATE_JPG, ZIDANE, jpeg_garbage

# 45 frames of 640x360: a whole video job in a few seconds.
SHORT_VIDEO = MEDIA_DIR / "video" / "traffic_sample1.mp4"
VIGIL = str(Path(sys.executable).with_name("vigil"))
JOB_TIMEOUT_S = 180.0
T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    email: str
    api_key: str


@pytest.fixture(scope="module")
def account(stack: LocalStack) -> Account:
    email = f"sdk-{uuid.uuid4().hex[:8]}@example.com"
    with Client(stack.base_url) as sdk:
        sdk.signup(email, PASSWORD)
        sdk.signin(email, PASSWORD)
        # `admin` too: the webhook tests below manage endpoints with it.
        return Account(email, sdk.create_api_key("sdk tests", scopes=["write", "admin"]).key)


@pytest.fixture
def sdk(stack: LocalStack, account: Account) -> Iterator[Client]:
    with Client(stack.base_url, api_key=account.api_key) as client:
        yield client


def eventually(probe: Callable[[], T | None], what: str, timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s}s")
        time.sleep(0.2)
    return found


# accounts and keys


def test_signup_signin_and_api_keys(stack: LocalStack) -> None:
    email = f"sdk-{uuid.uuid4().hex[:8]}@example.com"
    with Client(stack.base_url) as owner:
        user = owner.signup(email, PASSWORD, full_name="SDK User")
        assert (user.email, user.full_name) == (email, "SDK User")
        tokens = owner.signin(email, PASSWORD)
        assert tokens.token_type == "bearer"
        assert owner.me().id == user.id
        created = owner.create_api_key("laptop")
        assert created.key.startswith("vk_")
        assert created.prefix == created.key[:11]
        (listed,) = owner.list_api_keys()
        assert listed.id == created.id
        assert "key" not in (listed.model_extra or {})

        with Client(stack.base_url, api_key=created.key) as keyed:
            assert keyed.me().id == user.id
            owner.revoke_api_key(created.id)
            with pytest.raises(AuthenticationError):
                keyed.me()
        assert owner.list_api_keys() == []
        assert owner.list_api_keys(include_revoked=True)[0].revoked_at is not None
        actions = [event.action for event in owner.audit_events().items]
        assert {"signup", "api_key_created", "api_key_revoked"} <= set(actions)


def test_an_expired_access_token_is_refreshed_and_the_refresh_token_rotates(
    stack: LocalStack,
) -> None:
    email = f"sdk-{uuid.uuid4().hex[:8]}@example.com"
    with Client(stack.base_url) as sdk:
        sdk.signup(email, PASSWORD)
        first = sdk.signin(email, PASSWORD)
        # What an access token past its lifetime looks like to the client: a 401.
        sdk._core.access_token = "expired"
        assert sdk.me().email == email
        assert sdk._core.refresh_token not in (None, first.refresh_token)
        assert sdk.me().email == email


# jobs


def test_video_job_with_progress_results_frames_and_annotated_mp4(
    sdk: Client, tmp_path: Path
) -> None:
    params = {"annotate": True, "confidence_threshold": 0.3, "classes": ["car", "truck"]}
    submitted = sdk.submit(SHORT_VIDEO, params)
    assert isinstance(submitted, JobAccepted)
    seen: list[JobStatus] = []
    final = sdk.wait(
        submitted.job_id, timeout=JOB_TIMEOUT_S, poll_interval=0.2, progress=seen.append
    )
    assert final.status == "completed", final.error
    progress = [status.progress for status in seen]
    assert progress == sorted(progress)
    assert progress[0] < progress[-1] == 100
    assert seen[-1] == final

    first = sdk.results(submitted.job_id, page=1, page_size=20)
    assert first.params["classes"] == ["car", "truck"]
    assert first.pagination.pages >= 2
    frames = list(sdk.iter_frames(submitted.job_id, page_size=20))
    assert len(frames) == first.pagination.total_frames
    assert [f.frame_index for f in frames] == sorted({f.frame_index for f in frames})
    assert {d.label for f in frames for d in f.detections} <= {"car", "truck"}

    annotated = sdk.download_annotated(submitted.job_id, tmp_path / "annotated.mp4")
    assert annotated.read_bytes()[4:8] == b"ftyp"
    assert [p.name for p in tmp_path.iterdir()] == ["annotated.mp4"]

    assert submitted.job_id in {job.job_id for job in sdk.list_jobs(status="completed").items}
    sdk.delete_job(submitted.job_id)
    with pytest.raises(NotFoundError):
        sdk.status(submitted.job_id)


def test_image_job_comes_back_with_its_result(sdk: Client, tmp_path: Path) -> None:
    result = sdk.submit(str(BUS), {"annotate": True})
    assert isinstance(result, ImageResult)
    assert result.success
    assert result.summary is not None
    assert result.summary["people_count"] >= 3
    assert {d.type for d in result.detections} >= {"person"}
    status = sdk.wait(result.job_id, timeout=JOB_TIMEOUT_S)
    assert (status.status, status.kind) == ("completed", "image")
    annotated = sdk.download_annotated(result.job_id, tmp_path)
    assert annotated.suffix == ".jpg"
    assert annotated.read_bytes()[:3] == b"\xff\xd8\xff"


def test_async_client_runs_an_image_job(stack: LocalStack, account: Account) -> None:
    async def run() -> None:
        async with AsyncClient(stack.base_url, api_key=account.api_key) as sdk:
            assert (await sdk.me()).email == account.email
            submitted = await sdk.submit(ZIDANE, {"detectors": ["people", "faces"]})
            seen: list[JobStatus] = []
            status = await sdk.wait(submitted.job_id, timeout=JOB_TIMEOUT_S, progress=seen.append)
            assert status.status == "completed"
            assert seen[-1].status == "completed"
            results = await sdk.results(submitted.job_id)
            frames = [frame async for frame in sdk.iter_frames(submitted.job_id)]
            assert len(frames) == results.pagination.total_frames == 1
            assert {d.detector for d in frames[0].detections} >= {"people"}
            jobs = await sdk.list_jobs()
            assert submitted.job_id in {job.job_id for job in jobs.items}
            with pytest.raises(NotFoundError):
                await sdk.status(uuid.uuid4())

    asyncio.run(run())


def test_errors_map_to_exceptions(stack: LocalStack, sdk: Client) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.status(uuid.uuid4())
    assert missing.value.status_code == 404
    stranger = Client(stack.base_url, api_key="vk_not-a-real-key")
    with stranger, pytest.raises(AuthenticationError) as refused:
        stranger.me()
    assert refused.value.status_code == 401
    with pytest.raises(ValidationError) as invalid:
        sdk.submit(BUS, {"confidence_threshold": 2})
    assert "params.confidence_threshold" in {f["field"] for f in invalid.value.fields}


# the command line


def vigil(
    stack: LocalStack, api_key: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIL_URL": stack.base_url, "VIGIL_API_KEY": api_key}
    return subprocess.run(
        [VIGIL, *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=JOB_TIMEOUT_S + 30,
        check=False,
    )


def test_cli_submit_wait_status_results_annotated(
    stack: LocalStack, account: Account, tmp_path: Path
) -> None:
    done = vigil(
        stack, account.api_key, "submit", str(SHORT_VIDEO), "--wait", "--param", "annotate=true"
    )
    assert done.returncode == 0, done.stderr
    final = json.loads(done.stdout)
    assert final["status"] == "completed"
    assert "%" in done.stderr  # the progress bar
    job_id = final["job_id"]

    status = vigil(stack, account.api_key, "status", job_id)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "completed"

    page = vigil(stack, account.api_key, "results", job_id, "--page-size", "5")
    assert page.returncode == 0, page.stderr
    first = json.loads(page.stdout)
    assert len(first["frames"]) == 5
    everything = vigil(stack, account.api_key, "results", job_id, "--all")
    assert everything.returncode == 0, everything.stderr
    frames = json.loads(everything.stdout)["frames"]
    assert len(frames) == first["pagination"]["total_frames"]

    out = tmp_path / "out.mp4"
    saved = vigil(stack, account.api_key, "annotated", job_id, "-o", str(out))
    assert saved.returncode == 0, saved.stderr
    assert out.read_bytes()[4:8] == b"ftyp"


def test_cli_errors_and_exit_codes(stack: LocalStack, account: Account) -> None:
    refused = vigil(stack, "vk_not-a-real-key", "status", str(uuid.uuid4()))
    assert refused.returncode == 1
    assert "401" in refused.stderr
    missing = vigil(stack, account.api_key, "status", str(uuid.uuid4()))
    assert missing.returncode == 1
    assert "404" in missing.stderr
    invalid = vigil(stack, account.api_key, "submit", str(BUS), "--param", "confidence_threshold=2")
    assert invalid.returncode == 1
    assert "params.confidence_threshold" in invalid.stderr
    assert vigil(stack, account.api_key, "submit", "/no/such/file.jpg").returncode == 2
    assert vigil(stack, account.api_key, "submit", str(BUS), "--param", "x").returncode == 2


def test_cli_creates_lists_and_revokes_an_api_key(stack: LocalStack, account: Account) -> None:
    created = vigil(
        stack, "", "api-key", "create", "from the cli", "--email", account.email,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("vk_")
    listed = vigil(stack, key, "api-key", "list")
    assert listed.returncode == 0, listed.stderr
    (mine,) = [k for k in json.loads(listed.stdout) if key.startswith(k["prefix"])]
    assert mine["name"] == "from the cli"
    assert (mine["scopes"], mine["expires_at"]) == (["read", "write"], None)
    # A key may always revoke itself.
    assert vigil(stack, key, "api-key", "revoke", mine["id"]).returncode == 0
    assert vigil(stack, key, "api-key", "list").returncode == 1

    narrow = vigil(
        stack, "", "api-key", "create", "read only", "--scope", "read", "--expires-days", "1",
        "--email", account.email, "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert narrow.returncode == 0, narrow.stderr
    narrow_key = narrow.stdout.strip()
    (listed_narrow,) = [
        k
        for k in json.loads(vigil(stack, narrow_key, "api-key", "list").stdout)
        if narrow_key.startswith(k["prefix"])
    ]
    assert listed_narrow["scopes"] == ["read"]
    assert listed_narrow["expires_at"] is not None
    refused = vigil(stack, narrow_key, "submit", str(BUS))
    assert refused.returncode == 1
    assert "lacks the `write` scope" in refused.stderr


# batch, live events, webhooks


def test_batch_of_two_images_and_a_bad_one(sdk: Client, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(jpeg_garbage())
    batch = sdk.submit_batch([BUS, broken, PLATE_JPG], {"classes": ["person", "car"]})
    assert (batch.accepted, batch.rejected) == (2, 1)
    assert [item.accepted for item in batch.jobs] == [True, False, True]
    assert batch.jobs[1].filename == "broken.jpg"
    assert batch.jobs[1].error
    for item in batch.jobs:
        if item.job_id is not None:
            assert sdk.wait(item.job_id, timeout=JOB_TIMEOUT_S).status == "completed"


def test_cli_submits_several_files_as_a_batch(stack: LocalStack, account: Account) -> None:
    done = vigil(stack, account.api_key, "submit", str(BUS), str(ZIDANE), "--wait", "--no-progress")
    assert done.returncode == 0, done.stderr
    statuses = [json.loads(line) for line in done.stdout.splitlines()]
    assert [s["status"] for s in statuses] == ["completed", "completed"]
    assert done.stderr == ""


def test_events_follow_a_job_to_its_end(stack: LocalStack, sdk: Client, account: Account) -> None:
    submitted = sdk.submit(SHORT_VIDEO, {"frame_skip": 1})
    events = list(sdk.events(submitted.job_id))
    names = [event["event"] for event in events]
    assert names[0] == "status"
    assert names[-1] == "end"
    assert events[-1]["data"]["status"] == "completed"
    assert sdk.status(submitted.job_id).status == "completed"

    async def replay() -> list[str]:
        async with AsyncClient(stack.base_url, api_key=account.api_key) as client:
            return [event["event"] async for event in client.events(submitted.job_id)]

    # A finished job's stream: its status, then the end, at once.
    assert asyncio.run(replay()) == ["status", "end"]


class Receiver:
    """A real HTTP server that answers 200 and keeps every request it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                received.append((self.path, headers, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_job(self, path: str, job_id: uuid.UUID) -> list[tuple[dict[str, str], bytes]]:
        return [
            (headers, body)
            for got, headers, body in list(self.requests)
            if got == path and json.loads(body)["data"].get("job_id") == str(job_id)
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_webhook_endpoint_deliveries_and_redelivery(sdk: Client, receiver: Receiver) -> None:
    hook = sdk.create_webhook(f"{receiver.url}/hook", ["job.completed"], description="sdk")
    assert hook.secret.startswith("whsec_")
    assert hook.id in {h.id for h in sdk.list_webhooks()}
    assert sdk.update_webhook(hook.id, description="renamed").description == "renamed"
    assert sdk.get_webhook(hook.id).description == "renamed"

    job = sdk.submit(BUS)
    ((headers, body),) = eventually(
        lambda: receiver.for_job("/hook", job.job_id) or None, "the job.completed webhook"
    )
    payload = verify_webhook(hook.secret, headers, body)
    assert payload["type"] == "job.completed"

    def succeeded() -> Any:
        page = sdk.webhook_deliveries(hook.id, status="succeeded")
        return page.items[0] if page.total else None

    delivery = eventually(succeeded, "a succeeded delivery")
    assert (delivery.msg_id, delivery.job_id) == (headers["webhook-id"], job.job_id)
    assert delivery.id in {d.id for d in sdk.job_deliveries(job.job_id).items}
    assert sdk.get_delivery(delivery.id).attempt_log[0].status_code == 200

    assert sdk.redeliver(delivery.id).msg_id == delivery.msg_id
    again = eventually(lambda: receiver.for_job("/hook", job.job_id)[1:] or None, "the redelivery")
    assert again[0][0]["webhook-id"] == delivery.msg_id

    rotated = sdk.rotate_webhook_secret(hook.id)
    assert rotated.startswith("whsec_")
    assert rotated != hook.secret
    sdk.delete_webhook(hook.id)
    with pytest.raises(NotFoundError):
        sdk.get_webhook(hook.id)


def test_callback_url_is_signed_with_the_callback_secret(sdk: Client, receiver: Receiver) -> None:
    secret = sdk.create_callback_secret()
    assert secret.startswith("whsec_")
    job = sdk.submit(BUS, callback_url=f"{receiver.url}/callback")
    ((headers, body),) = eventually(
        lambda: receiver.for_job("/callback", job.job_id) or None, "the callback"
    )
    assert verify_webhook(secret, headers, body)["type"] == "job.completed"
