"""The access-log middleware: route templates of nested routers, the caller, streaming."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse

from api.access_log import AccessLogMiddleware


def _app() -> FastAPI:
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
    app.add_middleware(AccessLogMiddleware)
    return app


def _get(path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app())
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
