"""The SDK's clients against a scripted server (httpx.MockTransport): what they send, how they
read answers and errors, token refresh, pagination, downloads and waiting. Against the real
stack: tests/integration/test_sdk.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from vigil_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    ImageResult,
    JobAccepted,
    JobTimeoutError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
    VigilError,
)
from vigil_sdk.errors import error_from_response

from tests.media import BUS, PEDESTRIANS

JOB = "6f0c1f3e-0000-4000-8000-000000000001"
Handler = Callable[[httpx.Request], httpx.Response]


def status_body(status: str = "processing", progress: float = 50.0) -> dict[str, Any]:
    return {
        "job_id": JOB,
        "kind": "video",
        "status": status,
        "progress": progress,
        "frames_processed": 5,
        "frames_total": 10,
        "processing_speed": 12.5,
        "attempts": 1,
        "error": None,
        "a_field_from_a_newer_server": {"kept": True},
    }


def client(handler: Handler, **options: Any) -> Client:
    return Client("http://vigil:8000/", transport=httpx.MockTransport(handler), **options)


def error(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "detail": detail, **extra})


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (415, VigilError),
    ],
)
def test_error_statuses_map_to_exceptions(status: int, exception: type[VigilError]) -> None:
    exc = error_from_response(error(status, "some_code", "what went wrong", more=1))
    assert type(exc) is exception
    assert (exc.status_code, exc.code, exc.detail) == (status, "some_code", "what went wrong")
    assert exc.body["more"] == 1


def test_rate_limit_carries_retry_after_and_validation_its_fields() -> None:
    limited = error(429, "rate_limited", "slow down")
    limited.headers["Retry-After"] = "7"
    exc = error_from_response(limited)
    assert isinstance(exc, RateLimitedError)
    assert exc.retry_after == 7.0
    fields = [{"field": "params.confidence_threshold", "message": "too high"}]
    invalid = error_from_response(error(422, "validation_error", "bad", fields=fields))
    assert isinstance(invalid, ValidationError)
    assert invalid.fields == fields


def test_an_error_that_is_not_json_still_says_something() -> None:
    exc = error_from_response(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert isinstance(exc, ServerError)
    assert exc.code == "http_502"
    assert "Bad Gateway" in exc.detail


def test_429_raises_at_once_without_retrying() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, json={"error": "rate_limited"}, headers={"retry-after": "30"})

    with client(handler, api_key="vk_1") as sdk, pytest.raises(RateLimitedError) as caught:
        sdk.me()
    assert caught.value.retry_after == 30
    assert len(calls) == 1


def test_api_key_header_base_url_and_lenient_models() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"http://vigil:8000/api/v1/jobs/{JOB}/status"
        assert request.headers["x-api-key"] == "vk_1"
        assert "authorization" not in request.headers
        assert request.headers["user-agent"].startswith("vigil-sdk/")
        return httpx.Response(200, json=status_body())

    with client(handler, api_key="vk_1") as sdk:
        status = sdk.status(JOB)
    assert status.progress == 50.0
    assert not status.is_terminal
    # A field this SDK does not know is kept, not refused.
    assert status.model_extra == {"a_field_from_a_newer_server": {"kept": True}}


def test_an_address_with_the_api_prefix_and_path_segments_are_quoted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/api/v1/jobs/..%2Fme/status"
        return error(404, "not_found", "no such job")

    sdk = Client("http://vigil/api/v1", transport=httpx.MockTransport(handler))
    with sdk, pytest.raises(NotFoundError):
        sdk.status("../me")


class TokenServer:
    """Sign-in, rotating refresh tokens, and /me accepting only the newest, unexpired access
    token."""

    def __init__(self) -> None:
        self.generation = 0
        self.expired: set[str] = set()
        self.refreshes: list[str] = []

    def pair(self) -> httpx.Response:
        self.generation += 1
        n = self.generation
        return httpx.Response(
            200, json={"access_token": f"a{n}", "refresh_token": f"r{n}", "expires_in": 900}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/signin"):
            assert b"username=ops%40example.com" in request.content
            return self.pair()
        if request.url.path.endswith("/auth/token-refresh"):
            token = json.loads(request.content)["refresh_token"]
            self.refreshes.append(token)
            if token != f"r{self.generation}":
                return error(401, "not_authenticated", "refresh token reused")
            return self.pair()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token != f"a{self.generation}" or token in self.expired:
            return error(401, "not_authenticated", "invalid access token")
        return httpx.Response(200, json={"id": JOB, "email": "ops@example.com"})


def test_signin_keeps_the_tokens_and_a_401_refreshes_once_then_retries() -> None:
    server = TokenServer()
    with client(server.handle) as sdk:
        assert sdk.signin("ops@example.com", "pw").access_token == "a1"
        assert sdk.me().email == "ops@example.com"
        server.expired.add("a1")
        assert sdk.me().email == "ops@example.com"
        assert sdk.me().email == "ops@example.com"
    assert server.refreshes == ["r1"]


def test_a_refused_refresh_raises_instead_of_looping() -> None:
    server = TokenServer()
    with client(server.handle) as sdk:
        sdk.signin("ops@example.com", "pw")
        server.pair()  # signed in elsewhere meanwhile: a1 and r1 no longer work
        with pytest.raises(AuthenticationError, match="refresh token reused"):
            sdk.me()
    assert server.refreshes == ["r1"]


def test_concurrent_401s_refresh_once() -> None:
    """A second refresh with the same refresh token would revoke the whole sign-in."""
    server = TokenServer()

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other requests interleave
        return server.handle(request)

    async def run() -> list[str]:
        transport = httpx.MockTransport(handler)
        async with AsyncClient("http://vigil", transport=transport) as sdk:
            await sdk.signin("ops@example.com", "pw")
            server.expired.add("a1")
            users = await asyncio.gather(*(sdk.me() for _ in range(5)))
        return [user.email for user in users]

    assert asyncio.run(run()) == ["ops@example.com"] * 5
    assert server.refreshes == ["r1"]


def test_submit_picks_the_route_from_the_bytes_and_reads_both_answers(tmp_path: Path) -> None:
    renamed_video = tmp_path / "clip.jpg"  # the name lies; the bytes are an AVI
    renamed_video.write_bytes(PEDESTRIANS.read_bytes()[:4096])
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith("/process/image"):
            return httpx.Response(200, json={"success": True, "job_id": JOB, "detections": []})
        return httpx.Response(202, json={"job_id": JOB, "status": "queued"})

    with client(handler, api_key="vk_1") as sdk:
        image = sdk.submit(BUS, {"classes": ["person"]}, callback_url="https://hooks.example")
        video = sdk.submit(renamed_video)
    assert isinstance(image, ImageResult)
    assert image.status == "completed"
    assert isinstance(video, JobAccepted)
    assert str(image.job_id) == str(video.job_id) == JOB
    assert [r.url.path for r in sent] == ["/api/v1/process/image", "/api/v1/process/video"]
    body = sent[0].content
    assert b'name="params"\r\n\r\n{"classes": ["person"]}' in body
    assert b'name="callback_url"\r\n\r\nhttps://hooks.example' in body
    assert b'filename="bus.jpg"\r\nContent-Type: image/jpeg' in body
    assert b'filename="clip.jpg"\r\nContent-Type: video/x-msvideo' in sent[1].content
    assert b'name="params"' not in sent[1].content


def test_submit_refuses_a_file_that_is_no_media(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with client(lambda _: httpx.Response(500)) as sdk, pytest.raises(ValueError, match="notes"):
        sdk.submit(text)


def results_page(page: int, pages: int, per_page: int) -> dict[str, Any]:
    first = (page - 1) * per_page
    return {
        "job_id": JOB,
        "kind": "video",
        "status": "completed",
        "params": {},
        "frames": [{"frame_index": i, "timestamp": i / 10} for i in range(first, first + per_page)],
        "pagination": {
            "page": page,
            "page_size": per_page,
            "total_frames": pages * per_page,
            "pages": pages,
        },
    }


def test_iter_frames_walks_every_page() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.query.decode())
        return httpx.Response(200, json=results_page(int(request.url.params["page"]), 3, 2))

    with client(handler, api_key="vk_1") as sdk:
        frames = list(sdk.iter_frames(JOB, page_size=2))
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4, 5]
    assert asked == [f"page={n}&page_size=2" for n in (1, 2, 3)]


def test_download_lands_complete_or_not_at_all(tmp_path: Path) -> None:
    mp4 = b"\x00\x00\x00\x18ftypisom" + b"\x01" * 100_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=mp4, headers={"content-type": "video/mp4"})

    with client(handler, api_key="vk_1") as sdk:
        into_dir = sdk.download_annotated(JOB, tmp_path)
        named = sdk.download_annotated(JOB, tmp_path / "out.mp4")
    assert into_dir == tmp_path / f"{JOB}-annotated.mp4"
    assert into_dir.read_bytes() == named.read_bytes() == mp4

    def not_ready(request: httpx.Request) -> httpx.Response:
        return error(409, "conflict", "the job has not completed")

    with client(not_ready, api_key="vk_1") as sdk, pytest.raises(ConflictError):
        sdk.download_annotated(JOB, tmp_path / "late.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([into_dir.name, "out.mp4"])


def test_wait_reports_progress_returns_on_failure_and_times_out() -> None:
    replies = iter([status_body("queued", 0), status_body("processing", 40), status_body("failed")])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(replies))

    seen: list[float] = []
    with client(handler, api_key="vk_1") as sdk:
        final = sdk.wait(JOB, poll_interval=0, progress=lambda s: seen.append(s.progress))
    assert final.status == "failed"
    assert seen == [0, 40, 50]

    def forever(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=status_body())

    with client(forever, api_key="vk_1") as sdk, pytest.raises(JobTimeoutError) as caught:
        sdk.wait(JOB, timeout=0.05, poll_interval=0.01, progress=True)
    assert issubclass(JobTimeoutError, TimeoutError)
    assert caught.value.last is not None
    assert caught.value.last.status == "processing"


def test_webhook_update_sends_only_what_changes() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": JOB, "url": "https://h.example/x"})

    with client(handler, api_key="vk_1") as sdk:
        sdk.update_webhook(JOB, is_active=False)
        sdk.update_webhook(JOB, event_types=("job.failed",), description="")
    assert bodies == [{"is_active": False}, {"event_types": ["job.failed"], "description": ""}]
