"""The SDK's camera and camera-event calls against a scripted server (httpx.MockTransport): what
they send, how they read the answers, and how `iter_camera_events` resumes a dropped stream with
Last-Event-ID. The `vigil cameras` and `vigil events tail` commands' usage errors. Against the
real stack: tests/integration/test_camera_events_api.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from vigil_sdk import AsyncClient, Client, ConflictError, NotFoundError
from vigil_sdk import _core as core
from vigil_sdk.cli import main

CAMERA_UUID = "6f0c1f3e-0000-4000-8000-0000000000c1"
Handler = Callable[[httpx.Request], httpx.Response]


def camera_body(camera_id: str = "gate", **fields: Any) -> dict[str, Any]:
    return {
        "camera_id": camera_id,
        "camera_uuid": CAMERA_UUID,
        "name": None,
        "status": "active",
        "stream_url": "rtsp://***@10.0.0.5/stream",
        "has_credentials": True,
        "parameters": {},
        "warnings": [],
        "runtime": {"state": "online", "generation": 3, "fps_analysed": 4.9, "new": "kept"},
        **fields,
    }


def client(handler: Handler) -> Client:
    return Client("http://vigil:8000", api_key="vk_1", transport=httpx.MockTransport(handler))


def test_cameras_are_added_listed_changed_and_deleted() -> None:
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append(
            (request.method, str(request.url).removeprefix("http://vigil:8000/api/v1"), body)
        )
        if request.method == "POST" and isinstance(body, list):
            rejected = {"index": 1, "camera_id": "gate", "status_code": 409, "error": "conflict"}
            return httpx.Response(
                201,
                json={
                    "accepted": 1,
                    "rejected": 1,
                    "cameras": [camera_body("yard", index=0), rejected],
                },
            )
        if request.method == "DELETE":
            return httpx.Response(204)
        if request.url.path.endswith("/cameras"):
            if request.method == "GET":
                page = {"items": [camera_body()], "total": 1, "page": 2, "page_size": 5}
                return httpx.Response(200, json=page)
            return httpx.Response(201, json=camera_body())
        return httpx.Response(200, json=camera_body(status="inactive"))

    with client(handler) as sdk:
        created = sdk.add_camera(
            "gate", "rtsp://u:p@10.0.0.5/stream", name="Gate", parameters={"max_fps": 5}
        )
        assert created.runtime.state == "online"
        assert created.runtime.model_extra == {"new": "kept"}
        batch = sdk.add_cameras(
            [{"camera_id": "yard", "stream_url": "rtsp://10.0.0.6/"}, {"camera_id": "gate"}]
        )
        assert [item.accepted for item in batch.cameras] == [True, False]
        assert batch.cameras[0].camera_uuid is not None
        assert sdk.list_cameras(state="online", page=2, page_size=5).total == 1
        assert sdk.get_camera("gate:north").status == "inactive"
        assert sdk.update_camera("gate", status="inactive").status == "inactive"
        sdk.delete_camera("gate")
    assert seen == [
        (
            "POST",
            "/cameras",
            {
                "camera_id": "gate",
                "stream_url": "rtsp://u:p@10.0.0.5/stream",
                "status": "active",
                "name": "Gate",
                "parameters": {"max_fps": 5},
            },
        ),
        (
            "POST",
            "/cameras",
            [{"camera_id": "yard", "stream_url": "rtsp://10.0.0.6/"}, {"camera_id": "gate"}],
        ),
        ("GET", "/cameras?state=online&page=2&page_size=5", None),
        ("GET", "/cameras/gate%3Anorth", None),
        ("PATCH", "/cameras/gate", {"status": "inactive"}),
        ("DELETE", "/cameras/gate", None),
    ]


def test_snapshot_view_token_and_search() -> None:
    jpeg = b"\xff\xd8 a frame \xff\xd9"

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/snapshot.jpg"):
            if "cold" in path:
                return httpx.Response(409, json={"error": "no_frame_yet", "detail": "none yet"})
            return httpx.Response(200, content=jpeg, headers={"content-type": "image/jpeg"})
        if path.endswith("/view-token"):
            assert request.method == "POST"
            token = {
                "token": "vt1.a.b",
                "expires_at": "2026-11-29T12:01:00Z",
                "snapshot_url": "/api/v1/cameras/gate/snapshot.jpg?token=vt1.a.b",
                "mjpeg_url": "/api/v1/cameras/gate/mjpeg?token=vt1.a.b",
            }
            return httpx.Response(200, json=token)
        assert path == "/api/v1/events"
        assert dict(request.url.params) == {
            "camera_id": "gate",
            "type": "anpr",
            "plate": "ab 12",
            "since": "2026-11-29T12:00:00+00:00",
            "page": "1",
            "page_size": "10",
        }
        event = {
            "event_id": "018f0000-0000-7000-8000-000000000001",
            "type": "anpr",
            "camera_id": "gate",
            "camera_uuid": CAMERA_UUID,
            "plate": "AB12",
            "timestamp": "2026-11-29T12:00:01Z",
            "generation": 1,
            "payload": {},
            "created_at": "2026-11-29T12:00:02Z",
        }
        return httpx.Response(200, json={"items": [event], "total": 1, "page": 1, "page_size": 10})

    with client(handler) as sdk:
        assert sdk.camera_snapshot("gate") == jpeg
        with pytest.raises(ConflictError, match="none yet"):
            sdk.camera_snapshot("cold")
        assert sdk.camera_view_token("gate").expires_at == datetime(2026, 11, 29, 12, 1, tzinfo=UTC)
        found = sdk.search_events(
            camera_id="gate",
            event_type="anpr",
            plate="ab 12",
            since=datetime(2026, 11, 29, 12, tzinfo=UTC),
            page_size=10,
        )
        assert [event.plate for event in found.items] == ["AB12"]


def _sse(*messages: str) -> bytes:
    return "".join(messages).encode()


READY = 'id: 5-0\nevent: ready\ndata: {"position": "5-0"}\n\n'


def _event(entry_id: str, n: int) -> str:
    return f'id: {entry_id}\nevent: motion\ndata: {{"n": {n}}}\n\n'


class DroppingServer:
    """Each connection sends `ready`, then the next scripted events, then drops; records the
    Last-Event-ID each connection came with."""

    def __init__(self, *connections: str) -> None:
        self.connections = list(connections)
        self.last_event_ids: list[str | None] = []
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.last_event_ids.append(request.headers.get("last-event-id"))
        if not self.connections:
            return httpx.Response(404, json={"error": "not_found", "detail": "camera gone"})
        body = READY + self.connections.pop(0)
        return httpx.Response(
            200, content=_sse(body), headers={"content-type": "text/event-stream"}
        )


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "RECONNECT_FIRST_S", 0.01)


def test_iter_camera_events_resumes_after_a_drop_and_ends_with_the_camera() -> None:
    server = DroppingServer(
        _event("6-0", 1) + _event("7-0", 2),
        _event("8-0", 3) + "event: signed_out\ndata: {}\n\n",
        _event("9-0", 4) + 'event: end\ndata: {"reason": "deleted"}\n\n' + _event("10-0", 5),
    )
    with client(server) as sdk:
        events = list(sdk.iter_camera_events("gate", last_event_id="4-0"))
    # ready, signed_out and end are about the stream, not events: not handed over.
    assert [(e["id"], e["data"]["n"]) for e in events] == [
        ("6-0", 1),
        ("7-0", 2),
        ("8-0", 3),
        ("9-0", 4),
    ]
    # Each reconnection resumes after the last message seen.
    assert server.last_event_ids == ["4-0", "7-0", "8-0"]
    assert set(server.paths) == {"/api/v1/cameras/gate/events"}


def test_iter_camera_events_of_all_cameras_raises_what_a_reconnection_answers() -> None:
    server = DroppingServer(_event("6-0", 1))
    with client(server) as sdk, pytest.raises(NotFoundError, match="camera gone"):
        for _ in sdk.iter_camera_events():
            pass
    assert server.paths == ["/api/v1/events/stream"] * 2
    assert server.last_event_ids == [None, "6-0"]


def test_a_first_connection_that_fails_raises_at_once() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with client(unreachable) as sdk, pytest.raises(httpx.ConnectError):
        next(sdk.iter_camera_events("gate"))


def test_async_client_has_the_same_camera_calls() -> None:
    server = DroppingServer(_event("6-0", 1), _event("7-0", 2) + "event: end\ndata: {}\n\n")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return server(request)
        if request.url.path.endswith("/snapshot.jpg"):
            return httpx.Response(200, content=b"jpeg")
        return httpx.Response(200, json=camera_body())

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        async with AsyncClient("http://vigil", api_key="vk_1", transport=transport) as sdk:
            assert (await sdk.get_camera("gate")).camera_id == "gate"
            assert await sdk.camera_snapshot("gate") == b"jpeg"
            ids = [event["id"] async for event in sdk.iter_camera_events("gate")]
            assert ids == ["6-0", "7-0"]

    asyncio.run(run())
    assert server.last_event_ids == [None, "6-0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["events", "some-job", "--camera", "gate"], "--camera goes with `vigil events tail`"),
        (["cameras", "add", "gate", "rtsp://10.0.0.5/", "--params", "{not json"], "not JSON"),
        (["cameras", "add", "gate", "rtsp://10.0.0.5/", "--params", "[1]"], "JSON object"),
        (
            ["cameras", "add", "gate", "rtsp://10.0.0.5/", "--params", "@/no/such.json"],
            "cannot read",
        ),
    ],
)
def test_cli_usage_errors_exit_2_before_any_request(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An address where nothing listens: a request would fail with exit status 1 instead.
    assert main(["--url", "http://127.0.0.1:9", "--token", "t", *argv]) == 2
    assert message in capsys.readouterr().err
