"""The request observer: route templates of nested routers, the caller, streaming, and the
HTTP metrics it records alongside the access-log line."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from api.metrics.http import DURATION_BUCKET_COUNTS, DURATION_SUM, REQUESTS
from api.metrics.service import ApiMetrics
from api.observe import ObserveRequests, RedactQueryTokens
from tests.conftest import TEST_ENV


def _app(metrics: ApiMetrics) -> FastAPI:
    app = FastAPI()
    jobs = APIRouter(prefix="/jobs")

    @jobs.get("/{job_id}/status")
    async def status(job_id: str, request: Request) -> dict[str, str]:
        request.state.user_id = "u-1"
        request.state.auth_method = "api_key"
        return {"job_id": job_id}

    @jobs.get("/{job_id}/events")
    async def events(job_id: str) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"data: {n}\n\n".encode()

        return StreamingResponse(chunks(), media_type="text/event-stream")

    api = APIRouter(prefix="/api/v1")
    api.include_router(jobs)
    app.include_router(api)
    app.add_middleware(ObserveRequests, metrics=metrics)
    return app


def _get(path: str, metrics: ApiMetrics | None = None) -> httpx.Response:
    async def get() -> httpx.Response:
        app = _app(metrics or ApiMetrics(TEST_ENV["VIGIL_REDIS_URL"]))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(f"{path}?token=secret-in-query")

    return asyncio.run(get())


def _records(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "vigil.access"]


def test_line_names_the_full_route_template_and_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vigil.access")
    assert _get("/api/v1/jobs/j-42/status").status_code == 200
    (record,) = _records(caplog)
    assert record["route"] == "/api/v1/jobs/{job_id}/status"
    assert record["path"] == "/api/v1/jobs/j-42/status"
    assert record["method"] == "GET"
    assert record["status"] == 200
    assert record["job_id"] == "j-42"
    assert record["user_id"] == "u-1"
    assert record["auth"] == "api_key"
    assert record["api_key_id"] is None
    assert "secret-in-query" not in caplog.text


def test_unmatched_paths_and_streams(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vigil.access")
    assert _get("/nowhere").status_code == 404
    streamed = _get("/api/v1/jobs/j-7/events")
    assert streamed.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    missing, stream = _records(caplog)
    assert (missing["route"], missing["status"], missing["user_id"]) == ("/nowhere", 404, None)
    assert (stream["route"], stream["status"]) == ("/api/v1/jobs/{job_id}/events", 200)


def test_metrics_count_by_route_template_and_status() -> None:
    # Hashes of its own: every API on this Redis adds to the real ones.
    metrics = ApiMetrics(TEST_ENV["VIGIL_REDIS_URL"], prefix=f"test:{uuid.uuid4().hex}")
    for job in ("j-1", "j-2"):
        _get(f"/api/v1/jobs/{job}/status", metrics)
    _get("/nowhere", metrics)
    # Counted in memory until a flush adds them to Redis, where a scrape reads them.
    assert metrics.registry.get_sample_value("vigil_http_requests_total", {}) is None
    asyncio.run(_flush(metrics))
    sample = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/api/v1/jobs/{job_id}/status", "status": "200"}
    assert sample("vigil_http_requests_total", labels) == 2
    assert (
        sample("vigil_http_requests_total", labels | {"route": "unmatched", "status": "404"}) == 1
    )
    count = sample(
        "vigil_http_request_duration_seconds_count",
        {"method": "GET", "route": "/api/v1/jobs/{job_id}/status"},
    )
    assert count == 2


async def _flush(metrics: ApiMetrics) -> None:
    client = aioredis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    try:
        await metrics.http.flush(client)
        # Read back by the registry from here on; nothing else needs them.
        await client.expire(metrics.http.key(REQUESTS), 60)
        await client.expire(metrics.http.key(DURATION_BUCKET_COUNTS), 60)
        await client.expire(metrics.http.key(DURATION_SUM), 60)
    finally:
        await client.aclose()


def test_uvicorn_access_lines_lose_view_tokens() -> None:
    """uvicorn's own access log (on under `make run`) writes paths with their query strings;
    camera view tokens in `<img>` URLs must not reach it."""
    token = "vt1.eyJjIjoiMSJ9.c2lnbmF0dXJl"
    paths = [
        f"/api/v1/cameras/gate/mjpeg?token={token}",
        f"/api/v1/cameras/gate/mjpeg?fps=2&token={token}&x=1",
        "/api/v1/jobs?status=queued&page_token=kept",
    ]
    lines = []
    for path in paths:
        record = logging.LogRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
        )  # fmt: skip
        assert RedactQueryTokens().filter(record)
        lines.append(record.getMessage())
    assert token not in "".join(lines)
    assert "/api/v1/cameras/gate/mjpeg?token=[redacted] HTTP/1.1" in lines[0]
    assert "?fps=2&token=[redacted]&x=1" in lines[1]
    assert "page_token=kept" in lines[2]
