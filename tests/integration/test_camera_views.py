"""Watching a camera against the real stack: the snapshot, the MJPEG stream and the signed view
tokens that let an <img> show them. The frames are written into Redis as a runner writes them
(tests/integration/camera_feed.py), so no camera or runner is needed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest

from api.cameras.mjpeg import BOUNDARY
from shared.cameras.events import frame_key
from shared.ops.localstack import LocalStack
from tests.conftest import RUN_DIR
from tests.integration.camera_feed import (
    add_camera,
    bus,
    put_frame,
    set_state,
    viewers,
)
from tests.integration.conftest import api_process, signup_and_signin


@pytest.fixture
def anonymous(stack: LocalStack) -> Iterator[httpx.Client]:
    """A client of the API root with no credentials, as an <img> is."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def parts(response: httpx.Response) -> Iterator[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/x-mixed-replace body as they arrive: (headers, body)."""
    buffer = b""
    for chunk in response.iter_bytes():
        buffer += chunk
        while True:
            start = buffer.find(f"--{BOUNDARY}\r\n".encode())
            head_end = buffer.find(b"\r\n\r\n", start)
            if start < 0 or head_end < 0:
                break
            lines = buffer[start:head_end].decode().split("\r\n")[1:]
            headers = dict(line.split(": ", 1) for line in lines)
            body_start = head_end + 4
            body_end = body_start + int(headers["Content-Length"])
            if len(buffer) < body_end + 2:
                break
            yield headers, buffer[body_start:body_end]
            buffer = buffer[body_end + 2 :]


@contextmanager
def frames_every(camera_uuid: str, interval_s: float) -> Iterator[None]:
    """A runner annotating a watched camera: a new frame every `interval_s`."""
    stop = threading.Event()

    def write() -> None:
        number = 1000
        while not stop.wait(interval_s):
            number += 1
            put_frame(camera_uuid, number)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()


def eventually(check: Any, what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


# snapshots


def test_snapshot_is_the_latest_frame_and_counts_as_watching(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    camera = add_camera(client, auth)
    path = f"/cameras/{camera['camera_id']}/snapshot.jpg"

    none_yet = client.get(path, headers=auth)
    assert none_yet.status_code == 409
    assert none_yet.json()["error"] == "no_frame_yet"
    assert none_yet.headers["Retry-After"] == "2"

    put_frame(camera["camera_uuid"], 1)
    image = put_frame(camera["camera_uuid"], 2)
    shot = client.get(path, headers=auth)
    assert shot.status_code == 200, shot.text
    assert shot.headers["content-type"] == "image/jpeg"
    assert shot.headers["cache-control"] == "no-store"
    assert shot.headers["x-frame-number"] == "2"
    assert shot.headers["x-captured-at"].endswith("Z")
    assert shot.content == image
    # Each request counts as watching for a few seconds: the runner annotates every frame
    # meanwhile, then stops.
    watching = [until - time.time() for _, until in viewers(camera["camera_uuid"])]
    assert len(watching) == 2
    assert all(0 < left <= 5 for left in watching)


def test_snapshot_of_a_camera_that_is_down_inactive_or_stale(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    camera = add_camera(client, auth)
    path = f"/cameras/{camera['camera_id']}/snapshot.jpg"
    put_frame(camera["camera_uuid"], 1)

    set_state(camera["camera_uuid"], "reconnecting")
    down = client.get(path, headers=auth)
    assert down.status_code == 503
    assert (down.json()["error"], down.json()["state"]) == ("camera_unavailable", "reconnecting")
    assert down.headers["Retry-After"] == "5"

    # Online by its record, but the runner stopped refreshing the frame 30 s ago.
    set_state(camera["camera_uuid"], "online")
    bus().delete(frame_key(camera["camera_uuid"]))
    put_frame(camera["camera_uuid"], 2, entry_id=f"{int((time.time() - 30) * 1000)}-0")
    stale = client.get(path, headers=auth)
    assert stale.status_code == 503
    assert "30 s old" in stale.json()["detail"]

    put_frame(camera["camera_uuid"], 3)
    assert client.get(path, headers=auth).status_code == 200
    patched = client.patch(
        f"/cameras/{camera['camera_id']}", json={"status": "inactive"}, headers=auth
    )
    assert patched.status_code == 200
    inactive = client.get(path, headers=auth)
    assert (inactive.status_code, inactive.json()["error"]) == (409, "camera_inactive")


# MJPEG


def test_mjpeg_sends_frames_at_the_asked_rate_and_leaves_when_the_client_does(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    camera = add_camera(client, auth)
    path = f"/cameras/{camera['camera_id']}/mjpeg"
    assert client.get(path, headers=auth).json()["error"] == "no_frame_yet"
    first = put_frame(camera["camera_uuid"], 1)

    received: list[tuple[float, dict[str, str], bytes]] = []
    with (
        frames_every(camera["camera_uuid"], 0.05),
        client.stream("GET", path, params={"fps": 4}, headers=auth) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        # Kept: a closed iterator closes the connection.
        stream = parts(response)
        for _ in range(5):
            headers, body = next(stream)
            received.append((time.monotonic(), headers, body))
        # Watching: the runner annotates every frame meanwhile.
        assert len(viewers(camera["camera_uuid"])) == 1

    assert received[0][2] == first
    assert all(headers["Content-Type"] == "image/jpeg" for _, headers, _ in received)
    numbers = [int(headers["X-Frame-Number"]) for _, headers, _ in received]
    assert numbers == sorted(set(numbers))
    # 4 fps at most, with frames written at 20 per second.
    gaps = [later - earlier for (earlier, _, _), (later, _, _) in pairwise(received)]
    assert min(gaps) >= 0.2, gaps
    eventually(lambda: not viewers(camera["camera_uuid"]), "the stream left the viewer set")


def test_mjpeg_fps_is_bounded(client: httpx.Client, auth: dict[str, str]) -> None:
    camera = add_camera(client, auth)
    put_frame(camera["camera_uuid"], 1)
    # Below 0.2, a stream would wait so long between frames that it outlived its checks.
    for fps in ("10.5", "0", "-1", "fast", "0.0001", "0.19"):
        answer = client.get(
            f"/cameras/{camera['camera_id']}/mjpeg", params={"fps": fps}, headers=auth
        )
        assert answer.status_code == 422, fps
        assert answer.json()["fields"][0]["field"] == "query.fps"


def test_a_slow_mjpeg_stream_still_ends_with_the_sign_in(client: httpx.Client) -> None:
    """At the slowest rate, 5 s between frames, the stream keeps checking its credential while
    it waits: it ends once the check is due (every 3 s), before its next frame would be due."""
    owner = signup_and_signin(client)
    camera = add_camera(client, owner)
    put_frame(camera["camera_uuid"], 1)
    path = f"/cameras/{camera['camera_id']}/mjpeg"
    with client.stream("GET", path, params={"fps": 0.2}, headers=owner) as response:
        assert response.status_code == 200
        stream = parts(response)
        next(stream)
        opened = time.monotonic()
        assert client.post("/auth/signout-all", headers=owner).status_code == 204
        assert list(stream) == []
        assert time.monotonic() - opened < 4.5


def test_mjpeg_ends_when_the_camera_is_deleted_or_the_sign_in_ends(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    deleted = add_camera(client, auth)
    put_frame(deleted["camera_uuid"], 1)
    with client.stream("GET", f"/cameras/{deleted['camera_id']}/mjpeg", headers=auth) as response:
        stream = parts(response)
        next(stream)
        assert client.delete(f"/cameras/{deleted['camera_id']}", headers=auth).status_code == 204
        started = time.monotonic()
        assert list(stream) == []
        assert time.monotonic() - started < 8

    other = signup_and_signin(client)
    watched = add_camera(client, other)
    put_frame(watched["camera_uuid"], 1)
    with client.stream("GET", f"/cameras/{watched['camera_id']}/mjpeg", headers=other) as response:
        stream = parts(response)
        next(stream)
        assert client.post("/auth/signout-all", headers=other).status_code == 204
        started = time.monotonic()
        assert list(stream) == []
        assert time.monotonic() - started < 8


# view tokens


def token_for(client: httpx.Client, headers: dict[str, str], camera_id: str) -> dict[str, Any]:
    response = client.post(f"/cameras/{camera_id}/view-token", headers=headers)
    assert response.status_code == 200, response.text
    minted: dict[str, Any] = response.json()
    return minted


def test_a_view_token_shows_its_camera_to_an_img_and_nothing_else(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str], anonymous: httpx.Client
) -> None:
    camera, sibling = add_camera(client, auth), add_camera(client, auth)
    image = put_frame(camera["camera_uuid"], 7)
    put_frame(sibling["camera_uuid"], 1)
    minted = token_for(client, auth, camera["camera_id"])
    token = minted["token"]
    assert minted["snapshot_url"] == (
        f"/api/v1/cameras/{camera['camera_id']}/snapshot.jpg?token={token}"
    )
    assert minted["mjpeg_url"] == f"/api/v1/cameras/{camera['camera_id']}/mjpeg?token={token}"
    lifetime = datetime.fromisoformat(minted["expires_at"]) - datetime.now(UTC)
    assert 55 <= lifetime.total_seconds() <= 60

    shot = anonymous.get(minted["snapshot_url"])
    assert (shot.status_code, shot.content) == (200, image)
    with anonymous.stream("GET", minted["mjpeg_url"]) as response:
        assert response.status_code == 200
        assert next(parts(response))[1] == image

    # Another camera of the same owner, a forged or truncated token, no token at all.
    elsewhere = anonymous.get(
        f"/api/v1/cameras/{sibling['camera_id']}/snapshot.jpg", params={"token": token}
    )
    assert elsewhere.status_code == 401
    assert "not for camera" in elsewhere.json()["detail"]
    for bad in (token[:-2] + "xx", token.replace("vt1.", "vt2."), "garbage", ""):
        refused = anonymous.get(
            f"/api/v1/cameras/{camera['camera_id']}/snapshot.jpg", params={"token": bad}
        )
        assert refused.status_code == 401, bad
    assert anonymous.get(f"/api/v1/cameras/{camera['camera_id']}/snapshot.jpg").status_code == 401
    # A token is no credential for the rest of the API.
    assert anonymous.get("/api/v1/cameras", params={"token": token}).status_code == 401

    # The token never reaches the access log; the request does, as a view-token request.
    log = (RUN_DIR / "logs" / "api.log").read_text()
    assert token not in log
    assert token.split(".")[2] not in log
    assert '"route": "/api/v1/cameras/{camera_id}/snapshot.jpg"' in log
    assert '"auth": "view_token"' in log


def test_a_view_token_ends_with_its_sign_in_or_its_key(
    client: httpx.Client, anonymous: httpx.Client
) -> None:
    owner = signup_and_signin(client)
    camera = add_camera(client, owner)
    put_frame(camera["camera_uuid"], 1)
    snapshot = f"/api/v1/cameras/{camera['camera_id']}/snapshot.jpg"

    # A read-only key may ask for one (viewing is reading); revoking the key ends it.
    key = client.post(
        "/api-keys", json={"name": "dashboard", "scopes": ["read"]}, headers=owner
    ).json()
    by_key = token_for(client, {"X-API-Key": key["key"]}, camera["camera_id"])["token"]
    assert anonymous.get(snapshot, params={"token": by_key}).status_code == 200
    assert client.delete(f"/api-keys/{key['id']}", headers=owner).status_code == 204
    assert anonymous.get(snapshot, params={"token": by_key}).status_code == 401

    by_bearer = token_for(client, owner, camera["camera_id"])["token"]
    with anonymous.stream(
        "GET", f"/api/v1/cameras/{camera['camera_id']}/mjpeg", params={"token": by_bearer}
    ) as response:
        stream = parts(response)
        next(stream)
        assert client.post("/auth/signout-all", headers=owner).status_code == 204
        assert anonymous.get(snapshot, params={"token": by_bearer}).status_code == 401
        # The stream opened with it ends too.
        assert list(stream) == []


def test_a_view_token_expires(stack: LocalStack) -> None:
    with (
        api_process("short-tokens", {"VIGIL_CAMERA_VIEW_TOKEN_TTL_S": "1"}) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=30) as client,
    ):
        auth = signup_and_signin(client)
        camera = add_camera(client, auth)
        put_frame(camera["camera_uuid"], 1)
        minted = token_for(client, auth, camera["camera_id"])
        time.sleep(2.1)
        expired = httpx.get(f"{api.base_url}{minted['snapshot_url']}", timeout=30)
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]


# ownership


def test_someone_elses_camera_is_not_found_on_every_view_route(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    camera = add_camera(client, auth)
    put_frame(camera["camera_uuid"], 1)
    stranger = signup_and_signin(client)
    base = f"/cameras/{camera['camera_id']}"
    answers = [
        client.get(f"{base}/snapshot.jpg", headers=stranger),
        client.get(f"{base}/mjpeg", headers=stranger),
        client.post(f"{base}/view-token", headers=stranger),
        client.get(f"{base}/events", headers=stranger),
        client.get(f"/cameras/{'x' * 65}/snapshot.jpg", headers=stranger),
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(404, "not_found")] * 5
    # The stranger's own view token does not open it either.
    own = add_camera(client, stranger)
    token = token_for(client, stranger, own["camera_id"])["token"]
    foreign = client.get(f"{base}/snapshot.jpg", params={"token": token})
    assert foreign.status_code == 404
