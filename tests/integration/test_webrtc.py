"""The live view over WebRTC against the real stack: the API hands offers to the live view service
(`python -m live`) over Redis, the live service answers with an aiortc peer that sends the
camera's annotated frames, and an aiortc viewer (tests/fixtures/webrtc_client.py) receives them.

The camera is the stamped RTSP test camera, analysed by the stack's runner: every frame carries
its capture time, so the viewer measures capture → decoded latency. Tests that only need a
session, not pictures, use cameras the runner leaves alone (camera_feed.add_camera).

Timings are printed (`pytest -s`) and asserted with room to spare; the goals (time to first
frame ≤ 1 s, p95 latency ≤ 400 ms, fps ≥ 0.9 of live_fps) are `make bench-live`'s."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from prometheus_client.samples import Sample

from shared.cameras.events import frame_key
from shared.live.protocol import session_key
from shared.ops.localstack import LocalStack, free_port
from tests.fixtures.rtsp_camera import RtspCamera
from tests.fixtures.webrtc_client import LiveViewer, Received
from tests.integration.camera_feed import add_camera, bus, viewers
from tests.integration.camera_runners import stack_runner_ready
from tests.integration.conftest import api_process, signup_and_signin
from tests.integration.test_metrics import SCRAPER, parse, value

LIVE_FPS = 15.0
TTFF_LIMIT_S = 5.0
LATENCY_P95_LIMIT_MS = 1500.0
CLOSE_WITHIN_S = 1.0
# A viewer that stops answering is given up within about 10 s (live/signaling.py).
SILENT_CLOSE_WITHIN_S = 12.0
TURN_SECRET = "test-turn-secret-0123456789"
TURN_URL = "turn:127.0.0.1:3478?transport=udp"
STUN_URL = "stun:127.0.0.1:3478"
# The placeholder's background (live/placeholder.py BACKGROUND) as decoded luma, video range.
PLACEHOLDER_LUMA = 16 + (0.299 * 32 + 0.587 * 36 + 0.114 * 44) * 219 / 255


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.base_url}/api/v1", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def owner(http: httpx.Client) -> dict[str, str]:
    return signup_and_signin(http)


@pytest.fixture(scope="module")
def camera_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspCamera]:
    """A stamped camera of this module's own: the last test stalls it."""
    log_path = tmp_path_factory.mktemp("rtsp-live") / "server.log"
    with RtspCamera(mounts=("stamped",), log_path=log_path) as source:
        yield source


@pytest.fixture(scope="module")
def camera(
    stack: LocalStack, http: httpx.Client, owner: dict[str, str], camera_source: RtspCamera
) -> Iterator[dict[str, Any]]:
    """The owner's camera on the stamped source, analysed by the stack's runner (motion only:
    cheap), once its first frame is in Redis."""
    stack_runner_ready(stack)
    body = {
        "camera_id": f"live-{uuid.uuid4().hex[:8]}",
        "name": "Stamped street",
        "stream_url": camera_source.url("/stamped"),
        "parameters": {"detectors": ["motion"], "stall_timeout_s": 3, "live_fps": LIVE_FPS},
    }
    created = http.post("/cameras", json=body, headers=owner)
    assert created.status_code == 201, created.text
    registered: dict[str, Any] = created.json()
    try:
        deadline = time.monotonic() + 60
        while not bus().xlen(frame_key(registered["camera_uuid"])):
            assert time.monotonic() < deadline, "the runner wrote no frame of the camera in 60 s"
            time.sleep(0.2)
        yield registered
    finally:
        http.delete(f"/cameras/{registered['camera_id']}", headers=owner)


@pytest.fixture(scope="module")
def offer_sdp() -> str:
    """A real offer (aiortc: one recvonly video section, its host candidates)."""

    async def make() -> str:
        viewer = LiveViewer("http://unused", {})
        try:
            return await viewer.offer()
        finally:
            await viewer.close()

    return asyncio.run(make())


@pytest.fixture(scope="module")
def second_api(stack: LocalStack) -> Iterator[LocalStack]:
    """Another API process on the same database and Redis, with STUN and TURN configured (the
    stack's has none): it serves the same sessions, and tells browsers about TURN."""
    env = {
        "VIGIL_WEBRTC_ICE_SERVERS": f'[{{"urls": ["{TURN_URL}"]}}, {{"urls": "{STUN_URL}"}}]',
        "VIGIL_WEBRTC_TURN_SECRET": TURN_SECRET,
    }
    with api_process("webrtc-api", env) as local:
        yield local


def run(scenario: Any) -> Any:
    return asyncio.run(scenario)


def post_offer(
    http: httpx.Client, headers: dict[str, str], sdp: str, **fields: Any
) -> httpx.Response:
    return http.post("/webrtc/offer", json={"sdp": sdp, "type": "offer", **fields}, headers=headers)


def fields_of(response: httpx.Response) -> list[str]:
    return [problem["field"] for problem in response.json().get("fields", [])]


async def scrape_until(base_url: str, name: str, minimum: float) -> dict[str, list[Sample]]:
    deadline = time.monotonic() + 15
    async with httpx.AsyncClient(base_url=base_url, headers=SCRAPER, timeout=30) as scraper:
        while True:
            samples = parse((await scraper.get("/metrics")).text)
            if value(samples, name) >= minimum or time.monotonic() > deadline:
                return samples
            await asyncio.sleep(0.5)


def is_placeholder(frame: Received) -> bool:
    """A frame without a stamp, mostly the placeholder's flat background."""
    assert frame.luma is not None
    near = np.abs(frame.luma.astype(np.int16) - PLACEHOLDER_LUMA) < 12
    return frame.latency_ms is None and float(near.mean()) > 0.7


async def wait_until(check: Any, what: str, timeout_s: float) -> float:
    """Seconds until `check()` held (AssertionError after `timeout_s`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, f"{what} not within {timeout_s} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


# who may watch what


def test_offers_need_credentials_and_a_camera_of_yours(
    http: httpx.Client, owner: dict[str, str], camera: dict[str, Any], offer_sdp: str
) -> None:
    anonymous = post_offer(http, {}, offer_sdp, camera_id=camera["camera_id"])
    assert anonymous.status_code == 401
    assert http.get("/webrtc/sessions").status_code == 401
    assert http.get("/webrtc/config").status_code == 401

    stranger = signup_and_signin(http)
    foreign = post_offer(http, stranger, offer_sdp, camera_id=camera["camera_id"])
    assert (foreign.status_code, foreign.json()["error"]) == (404, "not_found")
    missing = post_offer(http, owner, offer_sdp, camera_id="no-such-camera")
    assert missing.status_code == 404

    # An API key acts as its owner: a read-only one may look, not start a session.
    key = http.post("/api-keys", json={"name": "viewer", "scopes": ["read"]}, headers=owner)
    assert key.status_code == 201, key.text
    read_only = {"X-API-Key": key.json()["key"]}
    assert http.get("/webrtc/sessions", headers=read_only).json()["count"] == 0
    refused = post_offer(http, read_only, offer_sdp, camera_id=camera["camera_id"])
    assert refused.status_code == 403


def test_offers_that_are_not_one_recvonly_video_section_are_refused(
    stack: LocalStack,
    http: httpx.Client,
    owner: dict[str, str],
    camera: dict[str, Any],
    offer_sdp: str,
) -> None:
    camera_id = camera["camera_id"]
    audio = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"
    bad = {
        "two media sections": (offer_sdp + audio, "sdp"),
        "sendrecv": (offer_sdp.replace("a=recvonly", "a=sendrecv"), "sdp"),
        "over 64 KB": (offer_sdp + "a=x-pad:" + "x" * 70_000 + "\r\n", "sdp"),
        "over 64 KB as UTF-8": (offer_sdp + "a=x-pad:" + "é" * 33_000 + "\r\n", "sdp"),
        "not an SDP": ("hello", "sdp"),
        "audio only": (offer_sdp.replace("m=video", "m=audio"), "sdp"),
    }
    for what, (sdp, field) in bad.items():
        refused = post_offer(http, owner, sdp, camera_id=camera_id)
        assert refused.status_code == 422, what
        assert fields_of(refused) == [field], (what, refused.json())
    answer_type = http.post(
        "/webrtc/offer",
        json={"sdp": offer_sdp, "type": "answer", "camera_id": camera_id},
        headers=owner,
    )
    assert (answer_type.status_code, fields_of(answer_type)) == (422, ["type"])

    with httpx.Client(base_url=stack.base_url, timeout=30) as root:
        path = root.post(
            "/api/offer",
            json={"sdp": offer_sdp, "type": "offer", "video_path": "/etc/passwd"},
            headers=owner,
        )
    assert (path.status_code, fields_of(path)) == (422, ["video_path"])

    inactive = add_camera(http, owner, held_in=None, status="inactive")
    idle = post_offer(http, owner, offer_sdp, camera_id=inactive["camera_id"])
    assert (idle.status_code, idle.json()["error"]) == (409, "camera_inactive")
    http.delete(f"/cameras/{inactive['camera_id']}", headers=owner)
    assert http.get("/webrtc/sessions", headers=owner).json() == {"items": [], "count": 0}


# watching


def test_a_viewer_gets_the_camera_live_soon_and_fast(
    stack: LocalStack, http: httpx.Client, owner: dict[str, str], camera: dict[str, Any]
) -> None:
    async def scenario() -> None:
        async with LiveViewer(stack.base_url, owner) as viewer:
            answered = await viewer.connect({"camera_id": camera["camera_id"]})
            assert answered.status_code == 200, answered.text
            assert answered.json()["type"] == "answer"
            await viewer.wait_frames(1, timeout_s=TTFF_LIMIT_S)
            ttff = viewer.stats().ttff_s
            # The runner turns to live frames once it sees the viewer: measure after that.
            await asyncio.sleep(1.0)
            frames = await viewer.watch(3.0)
            stats = viewer.stats(frames)
            print(f"\nlive view, one aiortc viewer: {stats} (time to first frame {ttff:.2f} s)")
            assert ttff is not None
            assert ttff <= TTFF_LIMIT_S
            assert stats.fps >= 0.5 * LIVE_FPS, stats
            assert stats.latency_p95_ms is not None, "no stamp read in any frame"
            assert stats.latency_p95_ms < LATENCY_P95_LIMIT_MS, stats
            assert {(f.width, f.height) for f in frames} == {(640, 352)}

            # Offline by default: only host candidates, no STUN server asked (no srflx).
            assert viewer.answer_sdp is not None
            candidates = [
                line for line in viewer.answer_sdp.splitlines() if line.startswith("a=candidate")
            ]
            assert candidates
            assert all(" typ host" in line for line in candidates), candidates

            # The camera is watched while the session lives: the runner writes live frames.
            assert viewer.session_id is not None
            assert viewer.session_id.encode() in [m for m, _ in viewers(camera["camera_uuid"])]
            async with httpx.AsyncClient(base_url=http.base_url, timeout=30) as api:
                found = await api.get(f"/webrtc/sessions/{viewer.session_id}", headers=owner)
            session = found.json()
            assert session["camera_id"] == camera["camera_id"]
            assert session["connection_state"] == "connected"
            assert session["ice_gathering_state"] == "complete"
            assert session["signaling_state"] == "stable"

    run(scenario())


def test_two_viewers_watch_at_once(
    stack: LocalStack, http: httpx.Client, owner: dict[str, str], camera: dict[str, Any]
) -> None:
    async def scenario() -> None:
        async with (
            LiveViewer(stack.base_url, owner) as one,
            LiveViewer(stack.base_url, owner) as two,
        ):
            body = {"camera_id": camera["camera_id"]}
            answers = await asyncio.gather(one.connect(body), two.connect(body))
            assert [a.status_code for a in answers] == [200, 200]
            await asyncio.gather(one.wait_frames(10), two.wait_frames(10))
            async with httpx.AsyncClient(base_url=http.base_url, timeout=30) as api:
                listed = (await api.get("/webrtc/sessions", headers=owner)).json()
            assert listed["count"] == 2
            assert {s["session_id"] for s in listed["items"]} == {one.session_id, two.session_id}
            print(f"\ntwo viewers: {one.stats()}; {two.stats()}")
            # The live service reports to /metrics every few seconds.
            samples = await scrape_until(stack.base_url, "vigil_webrtc_sessions", 2)
            assert value(samples, "vigil_webrtc_frames_sent_total") > 0

    run(scenario())


def test_another_api_process_sees_the_session_and_its_delete_closes_the_peer_at_once(
    stack: LocalStack,
    http: httpx.Client,
    owner: dict[str, str],
    camera: dict[str, Any],
    second_api: LocalStack,
) -> None:
    stranger = signup_and_signin(http)

    async def scenario() -> None:
        async with LiveViewer(stack.base_url, owner) as viewer:
            assert (await viewer.connect({"camera_id": camera["camera_id"]})).status_code == 200
            await viewer.wait_frames(3)
            session_id = viewer.session_id
            async with httpx.AsyncClient(
                base_url=f"{second_api.base_url}/api/v1", timeout=30
            ) as other:
                listed = (await other.get("/webrtc/sessions", headers=owner)).json()
                assert [s["session_id"] for s in listed["items"]] == [session_id]
                path = f"/webrtc/sessions/{session_id}"
                assert (await other.get(path, headers=stranger)).status_code == 404
                assert (await other.delete(path, headers=stranger)).status_code == 404
                assert (await other.get(path, headers=owner)).status_code == 200

                sent = time.monotonic()
                deleted = await other.delete(path, headers=owner)
                assert deleted.status_code == 204, deleted.text
                await wait_until(
                    lambda: (
                        viewer.track_ended.is_set()
                        or viewer.pc.connectionState in ("closed", "failed")
                    ),
                    "the peer closed",
                    timeout_s=5,
                )
                elapsed = time.monotonic() - sent
                print(f"\nDELETE → peer closed at the viewer in {elapsed:.3f} s")
                assert elapsed <= CLOSE_WITHIN_S
                assert (await other.get(path, headers=owner)).status_code == 404
            assert not bus().exists(session_key(session_id or ""))
            assert session_id not in [m.decode() for m, _ in viewers(camera["camera_uuid"])]

    run(scenario())


def test_a_viewer_that_stops_answering_is_closed_within_about_10_s(
    stack: LocalStack, owner: dict[str, str], camera: dict[str, Any]
) -> None:
    """aiortc has no "disconnected" state: the live service notices a vanished browser by its
    unanswered consent checks, which it makes give up after about 10 s rather than 30."""

    async def scenario() -> None:
        async with LiveViewer(stack.base_url, owner) as viewer:
            assert (await viewer.connect({"camera_id": camera["camera_id"]})).status_code == 200
            await viewer.wait_frames(3)
            session_id = viewer.session_id or ""
            viewer.go_silent()
            silent = time.monotonic()
            await wait_until(
                lambda: not bus().exists(session_key(session_id)),
                "the silent viewer's session closed",
                timeout_s=SILENT_CLOSE_WITHIN_S,
            )
            print(f"\nviewer silent → session closed in {time.monotonic() - silent:.1f} s")
            assert session_id not in [m.decode() for m, _ in viewers(camera["camera_uuid"])]

    run(scenario())


def without_ice_credentials(sdp: str) -> str:
    """An offer the API's checks let through and aiortc refuses (it needs a=ice-ufrag)."""
    return "".join(
        line for line in sdp.splitlines(keepends=True) if not line.startswith("a=ice-ufrag")
    )


def test_more_sessions_than_the_cap_are_refused_with_retry_after(
    stack: LocalStack, http: httpx.Client, offer_sdp: str
) -> None:
    user = signup_and_signin(http)
    # A camera no runner captures: sessions need no pictures here.
    camera = add_camera(http, user)
    # Refused by the live service after the API reserved a place: each place is given back, or
    # the four sessions below would not fit.
    for _ in range(4):
        refused = post_offer(http, user, without_ice_credentials(offer_sdp), **camera_of(camera))
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid_offer")
        assert fields_of(refused) == ["sdp"]
    opened = []
    try:
        for _ in range(4):
            answer = post_offer(http, user, offer_sdp, camera_id=camera["camera_id"])
            assert answer.status_code == 200, answer.text
            opened.append(answer.json()["session_id"])
        over = post_offer(http, user, offer_sdp, camera_id=camera["camera_id"])
        assert over.status_code == 429, over.text
        assert over.json()["error"] == "too_many_sessions"
        assert int(over.headers["Retry-After"]) >= 1
        assert http.get("/webrtc/sessions", headers=user).json()["count"] == 4
        for session_id in opened[:1]:
            assert http.delete(f"/webrtc/sessions/{session_id}", headers=user).status_code == 204
        again = post_offer(http, user, offer_sdp, camera_id=camera["camera_id"])
        assert again.status_code == 200, again.text
        opened[0] = again.json()["session_id"]
    finally:
        for session_id in opened:
            http.delete(f"/webrtc/sessions/{session_id}", headers=user)


def camera_of(camera: dict[str, Any]) -> dict[str, str]:
    return {"camera_id": camera["camera_id"]}


def test_all_sessions_together_are_capped_with_503_live_full(
    http: httpx.Client, offer_sdp: str
) -> None:
    """VIGIL_WEBRTC_MAX_SESSIONS counts every user's sessions: an API process that allows one
    refuses an offer while another is open."""
    user = signup_and_signin(http)
    camera = add_camera(http, user)
    opened = post_offer(http, user, offer_sdp, **camera_of(camera))
    assert opened.status_code == 200, opened.text
    try:
        with (
            api_process("webrtc-full", {"VIGIL_WEBRTC_MAX_SESSIONS": "1"}) as full,
            httpx.Client(base_url=f"{full.base_url}/api/v1", timeout=30) as capped,
        ):
            over = post_offer(capped, user, offer_sdp, **camera_of(camera))
        assert (over.status_code, over.json()["error"]) == (503, "live_full"), over.text
        assert int(over.headers["Retry-After"]) >= 1
    finally:
        session_id = opened.json()["session_id"]
        assert http.delete(f"/webrtc/sessions/{session_id}", headers=user).status_code == 204


def test_sessions_end_with_the_credentials_they_were_opened_with(
    http: httpx.Client, offer_sdp: str
) -> None:
    """Signing out everywhere ends the sessions opened with bearer tokens, and revoking an API
    key ends those opened with it; neither ends the other's."""
    user = signup_and_signin(http)
    camera = add_camera(http, user)
    made = http.post("/api-keys", json={"name": "wall", "scopes": ["read", "write"]}, headers=user)
    assert made.status_code == 201, made.text
    key = {"X-API-Key": made.json()["key"]}
    by_token = post_offer(http, user, offer_sdp, **camera_of(camera)).json()["session_id"]
    by_key = post_offer(http, key, offer_sdp, **camera_of(camera)).json()["session_id"]

    def open_sessions() -> set[str]:
        return {s for s in (by_token, by_key) if bus().exists(session_key(s))}

    assert open_sessions() == {by_token, by_key}
    assert http.post("/auth/signout-all", headers=user).status_code == 204
    assert open_sessions() == {by_key}
    assert http.get(f"/webrtc/sessions/{by_key}", headers=key).status_code == 200
    # A key may revoke itself.
    assert http.delete(f"/api-keys/{made.json()['id']}", headers=key).status_code == 204
    assert open_sessions() == set()


def test_deleting_or_deactivating_a_camera_ends_its_sessions(
    http: httpx.Client, offer_sdp: str
) -> None:
    user = signup_and_signin(http)
    kept, paused, deleted = (add_camera(http, user) for _ in range(3))
    sessions = {}
    for camera in (kept, paused, deleted):
        answer = post_offer(http, user, offer_sdp, camera_id=camera["camera_id"])
        assert answer.status_code == 200, answer.text
        sessions[camera["camera_id"]] = answer.json()["session_id"]

    def open_sessions() -> set[str]:
        listed = http.get("/webrtc/sessions", headers=user).json()
        return {item["session_id"] for item in listed["items"]}

    assert open_sessions() == set(sessions.values())
    path = f"/cameras/{paused['camera_id']}"
    assert http.patch(path, json={"status": "inactive"}, headers=user).status_code == 200
    assert http.delete(f"/cameras/{deleted['camera_id']}", headers=user).status_code == 204
    assert open_sessions() == {sessions[kept["camera_id"]]}
    assert (
        http.delete(f"/webrtc/sessions/{sessions[kept['camera_id']]}", headers=user).status_code
        == 204
    )


# the live-view API's routes


def test_compatibility_routes_answer_in_their_shapes(
    stack: LocalStack, http: httpx.Client, second_api: LocalStack
) -> None:
    user = signup_and_signin(http)
    stranger = signup_and_signin(http)
    add_camera(http, user)

    async def scenario() -> None:
        async with (
            LiveViewer(stack.base_url, user, offer_path="/api/offer") as viewer,
            httpx.AsyncClient(base_url=stack.base_url, timeout=30) as root,
        ):
            # Without camera_id: the user's one camera.
            answered = await viewer.connect({"video_path": None})
            assert answered.status_code == 200, answered.text
            assert set(answered.json()) == {"sdp", "type", "session_id"}
            session_id = viewer.session_id
            assert (await root.get("/api/sessions", headers=user)).json() == {
                "active_sessions": [session_id],
                "count": 1,
            }
            one = (await root.get(f"/api/session/{session_id}", headers=user)).json()
            assert set(one) == {
                "session_id",
                "connection_state",
                "ice_connection_state",
                "ice_gathering_state",
                "signaling_state",
            }
            assert one["session_id"] == session_id
            path = f"/api/session/{session_id}"
            assert (await root.get(path, headers=stranger)).status_code == 404
            assert (await root.delete(path, headers=stranger)).status_code == 404
            assert (await root.get(path, headers=user)).status_code == 200
            health = (await root.get("/api/health", headers=user)).json()
            assert health["active_connections"] == 1
            closed = await root.delete(f"/api/session/{session_id}", headers=user)
            assert closed.status_code == 200
            assert closed.json() == {
                "status": "success",
                "message": f"Session {session_id} closed",
                "active_connections": 0,
            }
            assert (await root.get(f"/api/session/{session_id}", headers=user)).status_code == 404

    run(scenario())

    # A second camera: the user must say which.
    add_camera(http, user)
    with httpx.Client(base_url=stack.base_url, timeout=30) as root:
        which = root.post("/api/offer", json={"sdp": "v=0", "type": "offer"}, headers=user)
        assert (which.status_code, fields_of(which)) == (422, ["camera_id"])
        health = root.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["video_available"] is True
        info = root.get("/info")
        assert info.status_code == 200
        assert info.json()["webrtc"]["stun_servers"] == []
    with httpx.Client(base_url=second_api.base_url, timeout=30) as configured:
        info = configured.get("/info")
    assert info.status_code == 200
    assert info.json()["webrtc"]["stun_servers"] == [STUN_URL]
    assert info.json()["webrtc"]["turn_servers"] == [TURN_URL]
    assert TURN_SECRET not in info.text
    assert "credential" not in info.text
    assert "username" not in info.text


def test_turn_credentials_are_ephemeral_in_coturns_rest_scheme(
    http: httpx.Client, owner: dict[str, str], second_api: LocalStack
) -> None:
    assert http.get("/webrtc/config", headers=owner).json()["ice_servers"] == []
    me = http.get("/me", headers=owner).json()
    with httpx.Client(base_url=f"{second_api.base_url}/api/v1", timeout=30) as configured:
        config = configured.get("/webrtc/config", headers=owner).json()
    assert config["max_sessions_per_user"] == 4
    assert config["codecs"] == ["VP8", "H264"]
    turn, stun = config["ice_servers"]
    # Nothing unset, not even as null: the console hands the list to RTCPeerConnection.
    assert stun == {"urls": [STUN_URL]}
    assert turn["urls"] == [TURN_URL]
    expiry, user_id = turn["username"].split(":")
    assert user_id == me["id"]
    assert 0 < int(expiry) - time.time() <= 86_400 + 5
    # coturn's check: base64(HMAC-SHA1(static-auth-secret, username)).
    digest = hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()


def test_a_stopping_live_service_closes_its_peers_and_offers_wait_for_another(
    stack: LocalStack,
    http: httpx.Client,
    owner: dict[str, str],
    camera: dict[str, Any],
    offer_sdp: str,
) -> None:
    async def scenario() -> str:
        async with LiveViewer(stack.base_url, owner) as viewer:
            assert (await viewer.connect({"camera_id": camera["camera_id"]})).status_code == 200
            await viewer.wait_frames(3)
            # SIGTERM, as compose and `make run` stop it.
            await asyncio.to_thread(stack.stop_process, "live")
            await wait_until(
                lambda: (
                    viewer.track_ended.is_set() or viewer.pc.connectionState in ("closed", "failed")
                ),
                "the peer closed",
                timeout_s=5,
            )
            return viewer.session_id or ""

    try:
        session_id = run(scenario())
        assert not bus().exists(session_key(session_id))
        assert http.get("/webrtc/sessions", headers=owner).json()["count"] == 0
        # No live service: offers are refused at once, not after the offer timeout.
        asked = time.monotonic()
        refused = post_offer(http, owner, offer_sdp, camera_id=camera["camera_id"])
        assert time.monotonic() - asked < 2
        assert (refused.status_code, refused.json()["error"]) == (503, "live_unavailable")
        assert int(refused.headers["Retry-After"]) >= 1
        with httpx.Client(base_url=stack.base_url, timeout=30) as root:
            health = root.get("/health")
        assert (health.status_code, health.json()["status"]) == (503, "degraded")
    finally:
        stack.start_live()
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=stack.base_url, timeout=30) as root:
        while root.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "the live service did not come back"
            time.sleep(0.2)


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[int]:
    """coturn on loopback with the REST secret of `second_api`; its port."""
    turnserver = shutil.which("turnserver")
    if turnserver is None:
        pytest.fail("coturn's turnserver is missing: `make install` installs it (apt coturn)")
    port = free_port()
    relay = random.randrange(50_000, 60_000, 100)
    log = tmp_path / "turn.log"
    command = [
        turnserver, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
        "--relay-ip=127.0.0.1", f"--min-port={relay}", f"--max-port={relay + 99}",
        "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}", "--realm=vigil",
        "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
        f"--log-file={log}", "--simple-log", f"--pidfile={tmp_path / 'turn.pid'}",
        f"--userdb={tmp_path / 'turndb'}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "Total General servers" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None, f"turnserver exited: {log.read_text()}"
            assert time.monotonic() < deadline, "turnserver did not start in 10 s"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_a_relay_only_viewer_plays_through_turn_with_its_ephemeral_credentials(
    stack: LocalStack,
    owner: dict[str, str],
    camera: dict[str, Any],
    second_api: LocalStack,
    turn_server: int,
) -> None:
    """The credentials Vigil makes for the user, checked by a real coturn with the same secret:
    the viewer may only use relayed candidates, so every frame comes through TURN."""
    with httpx.Client(base_url=f"{second_api.base_url}/api/v1", timeout=30) as configured:
        turn = configured.get("/webrtc/config", headers=owner).json()["ice_servers"][0]
    server = RTCIceServer(
        urls=[f"turn:127.0.0.1:{turn_server}?transport=udp"],
        username=turn["username"],
        credential=turn["credential"],
    )
    relay_only = RTCConfiguration(
        iceServers=[server], iceTransportPolicy=RTCIceTransportPolicy.RELAY
    )

    async def scenario() -> None:
        async with LiveViewer(second_api.base_url, owner, configuration=relay_only) as viewer:
            offer = await viewer.offer()
            candidates = [line for line in offer.splitlines() if line.startswith("a=candidate")]
            assert candidates, "no relayed candidate: coturn refused the credentials"
            assert all(" typ relay" in line for line in candidates), candidates
            assert (await viewer.connect({"camera_id": camera["camera_id"]})).status_code == 200
            await viewer.wait_frames(5, timeout_s=TTFF_LIMIT_S)
            print(f"\nthrough TURN: {viewer.stats()}")

    run(scenario())


# last: it stalls the module's camera


def test_the_placeholder_shows_while_the_camera_stalls(
    stack: LocalStack, owner: dict[str, str], camera: dict[str, Any], camera_source: RtspCamera
) -> None:
    async def scenario() -> None:
        async with LiveViewer(stack.base_url, owner, keep_luma=True) as viewer:
            assert (await viewer.connect({"camera_id": camera["camera_id"]})).status_code == 200
            await viewer.wait_frames(5)
            assert not any(is_placeholder(f) for f in viewer.frames)
            camera_source.stall()
            try:
                stalled = time.monotonic()
                await wait_until(
                    lambda: any(is_placeholder(f) for f in viewer.frames[-3:]),
                    "the placeholder",
                    timeout_s=8,
                )
                print(f"\ncamera stalled → placeholder in {time.monotonic() - stalled:.2f} s")
                frames = await viewer.watch(3.0)
                # Once a second (give or take the encoder), and only placeholders.
                assert 2 <= len(frames) <= 5, len(frames)
                assert all(is_placeholder(f) for f in frames)
            finally:
                camera_source.resume()

    run(scenario())
