"""The SDK's server-sent events parser, and `events()` reading a stream through both clients."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from vigil_sdk import AsyncClient, Client, NotFoundError
from vigil_sdk.sse import ServerEvent, SSEParser

JOB = "6f0c1f3e-0000-4000-8000-000000000001"
STREAM = (
    ": keepalive\n"
    "event: status\n"
    'data: {"job_id": "' + JOB + '", "status": "processing"}\n'
    "\n"
    ": keepalive\n"
    "\n"
    "event: progress\r\n"
    'data: {"progress": 50.0,\r\n'
    'data:  "frames_processed": 10}\r\n'
    "\r\n"
    "data: not json\n"
    "id: 7\n"
    "\n"
    "event: end\n"
    "\n"
)


def parse(text: str) -> list[ServerEvent]:
    parser = SSEParser()
    events = [parser.feed(line) for line in text.splitlines()]
    return [event for event in events if event is not None]


def test_events_comments_multiline_data_and_an_end_without_data() -> None:
    events = parse(STREAM)
    assert [e["event"] for e in events] == ["status", "progress", "message", "end"]
    assert events[0]["data"] == {"job_id": JOB, "status": "processing"}
    # Data lines join with a newline; one space after the colon is dropped, the rest kept.
    assert events[1]["data"] == {"progress": 50.0, "frames_processed": 10}
    assert events[2] == {"event": "message", "data": "not json", "id": "7"}
    # The last event id carries over to later events, as the standard says.
    assert events[3] == {"event": "end", "data": None, "id": "7"}


def test_field_without_colon_and_unknown_fields_are_ignored() -> None:
    events = parse("retry: 100\nbogus\ndata\ndata:x\n\n")
    # `data` alone is a data field with an empty value.
    assert events == [{"event": "message", "data": "\nx", "id": None}]


def _transport(status: int, body: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/jobs/{JOB}/events"
        assert request.headers["x-api-key"] == "vk_test"
        return httpx.Response(
            status, content=body.encode(), headers={"content-type": "text/event-stream"}
        )

    return httpx.MockTransport(handler)


def test_client_events_iterates_the_stream() -> None:
    with Client("http://vigil", api_key="vk_test", transport=_transport(200, STREAM)) as client:
        assert [e["event"] for e in client.events(JOB)] == ["status", "progress", "message", "end"]


def test_async_client_events_and_an_error_before_the_stream() -> None:
    missing = json.dumps({"error": "not_found", "detail": "job not found"})

    async def run() -> None:
        ok = _transport(200, STREAM)
        async with AsyncClient("http://vigil", api_key="vk_test", transport=ok) as client:
            names = [event["event"] async for event in client.events(JOB)]
        assert names == ["status", "progress", "message", "end"]
        gone = _transport(404, missing)
        async with AsyncClient("http://vigil", api_key="vk_test", transport=gone) as client:
            with pytest.raises(NotFoundError, match="job not found"):
                await anext(client.events(JOB))

    asyncio.run(run())
