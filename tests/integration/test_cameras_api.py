"""The cameras REST API against the real stack: registration of one camera or a list (each bad
camera refused alone), the camera-analytics API's payload and routes, ownership, the cap,
sources (RTSP addresses, files), credentials kept encrypted, and the restarts and nudges that
changes give the runners. The API only parses and resolves camera URLs; it never connects."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from tortoise import Tortoise

from shared.cameras.events import CAMERAS_CHANGED_CHANNEL
from shared.cameras.secrets import Credentials, decrypt
from shared.db.config import tortoise_config
from shared.db.enums import CameraDesiredState, CameraState
from shared.db.models import Camera
from shared.ops.localstack import LocalStack
from shared.repositories import cameras as cameras_repo
from tests.conftest import MEDIA_DIR, TEST_ENV
from tests.integration.conftest import api_process, db_fetch, signup_and_signin

# The camera-analytics API's own example payload, as its clients send it.
ANALYTICS_PAYLOAD: list[dict[str, Any]] = [
    {
        "camera_id": "7e793c44-5960-4d40-903f-9c2cf0a17903",
        "status": "active",
        "stream_url": "rtsp://user:password@172.16.34.2:554/media/video1",
        "parameters": {
            "detection_classes": ["person", "car", "truck"],
            "confidence_threshold": 0.5,
            "roi_zones": [],
            "enable_motion_detection": True,
            "enable_object_detection": True,
            "enable_anpr": False,
            "motion_threshold": 0.1,
            "frame_skip": 1,
            "max_fps": 30,
        },
    }
]
# Loopback is allowed to cameras in the tests (VIGIL_CAMERA_ALLOWED_NETWORKS); nothing listens.
LOOPBACK_URL = "rtsp://127.0.0.1:8554/cam"
PASSWORD = "Vq7-zebra-lantern-5521"
CLIP = MEDIA_DIR / "video" / "traffic_sample2.mp4"


def camera(camera_id: str, **fields: Any) -> dict[str, Any]:
    return {"camera_id": camera_id, "stream_url": LOOPBACK_URL, **fields}


def fields_of(error: dict[str, Any]) -> list[str]:
    return [problem["field"] for problem in error.get("fields") or []]


@pytest.fixture
def root(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def file_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("camera-files")
    # A copy: check_file_source follows links, and a link out of the folder is refused.
    shutil.copy(CLIP, folder / "clip.mp4")
    return folder


@pytest.fixture(scope="module")
def strict_api(stack: LocalStack, file_root: Path) -> Iterator[httpx.Client]:
    """An API with the production defaults for addresses (no loopback), a cap of 2 cameras and
    a folder for file cameras, on the shared database."""
    env = {
        "VIGIL_MAX_CAMERAS_PER_USER": "2",
        "VIGIL_CAMERA_ALLOWED_NETWORKS": "[]",
        "VIGIL_CAMERA_FILE_ROOT": str(file_root),
    }
    with (
        api_process("cameras-strict", env) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=60) as http,
    ):
        yield http


def test_one_camera_is_registered_and_read_back(client: httpx.Client, auth: dict[str, str]) -> None:
    created = client.post("/cameras", json=camera("gate-north", name="Gate (north)"), headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["camera_id"] == "gate-north"
    assert uuid.UUID(body["camera_uuid"])
    assert body["name"] == "Gate (north)"
    assert body["status"] == "active"
    assert body["stream_url"] == LOOPBACK_URL
    assert body["has_credentials"] is False
    assert body["parameters"] == {}
    assert body["warnings"] == []
    assert body["runtime"] == {
        "state": "pending",
        "since": body["runtime"]["since"],
        "runner": None,
        "generation": 0,
        "last_frame_at": None,
        "fps_in": None,
        "fps_analysed": None,
        "fps_target": None,
        "resolution": None,
        "codec": None,
        "reconnects_last_hour": 0,
        "stalls_last_hour": 0,
        "last_error": None,
        "events_published": 0,
        "events_dropped": 0,
    }
    # The test stack's camera runner may already have claimed it: the configuration reads back
    # as it was registered, the runtime is the runner's from then on.
    read_back = client.get("/cameras/gate-north", headers=auth).json()
    assert read_back["runtime"]["state"] in ("pending", "starting", "online", "reconnecting")
    assert {k: v for k, v in read_back.items() if k != "runtime"} == {
        k: v for k, v in body.items() if k != "runtime"
    }
    inactive = client.post("/cameras", json=camera("spare", status="inactive"), headers=auth)
    assert inactive.json()["runtime"]["state"] == "stopped"

    again = client.post("/cameras", json=camera("gate-north"), headers=auth)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


def test_the_camera_analytics_payload_on_both_routes(
    client: httpx.Client, root: httpx.Client
) -> None:
    headers = signup_and_signin(client)
    listed = client.post("/cameras", json=ANALYTICS_PAYLOAD, headers=headers)
    assert listed.status_code == 201, listed.text
    body = listed.json()
    assert (body["accepted"], body["rejected"]) == (1, 0)
    (item,) = body["cameras"]
    assert item["index"] == 0
    assert item["camera_id"] == ANALYTICS_PAYLOAD[0]["camera_id"]
    assert item["stream_url"] == "rtsp://***@172.16.34.2:554/media/video1"
    assert item["has_credentials"] is True
    # max_fps 30 is accepted, and the answer says it is capped.
    assert item["warnings"] == [
        "analysis capped at 10 frames per second (asked for 30; VIGIL_CAMERA_MAX_DETECT_FPS)"
    ]
    assert item["parameters"]["detection_classes"] == ["person", "car", "truck"]
    assert item["parameters"]["max_fps"] == 30

    other = signup_and_signin(client)
    compat = root.post("/api/cameras", json=ANALYTICS_PAYLOAD, headers=other)
    assert compat.status_code == 201, compat.text
    (registered,) = compat.json()
    assert registered["camera_id"] == ANALYTICS_PAYLOAD[0]["camera_id"]
    assert registered["status"] == "active"
    assert registered["stream_url"] == "rtsp://***@172.16.34.2:554/media/video1"
    assert registered["runtime"]["state"] == "pending"
    # A single object is accepted too, and answered as an array.
    single = root.post("/api/cameras", json=camera("lobby"), headers=other)
    assert single.status_code == 201, single.text
    assert [c["camera_id"] for c in single.json()] == ["lobby"]
    # Registering the list again: every camera is a conflict.
    again = root.post("/api/cameras", json=ANALYTICS_PAYLOAD, headers=other)
    assert again.status_code == 409, again.text
    assert again.json()["cameras"][0]["error"]["error"] == "conflict"


def test_a_bad_camera_in_a_list_is_refused_alone(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str]
) -> None:
    cameras = [
        camera("good-1"),
        camera("has space"),
        camera("web", stream_url="http://172.16.34.2/video"),
        camera("bogus", parameters={"bogus": 1}),
        camera("metadata", stream_url="rtsp://169.254.169.254/"),
        camera("multicast", stream_url="rtsp://224.0.0.1/"),
        camera("nowhere", stream_url="rtsp://0.0.0.0/"),
        camera(
            "nothing",
            parameters={"enable_object_detection": False, "enable_motion_detection": False},
        ),
        camera("good-1"),
        camera("good-2", parameters={"roi_zones": [[[0, 0], [1, 0], [1, 1]]]}),
    ]
    response = client.post("/cameras", json=cameras, headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 8)
    items = body["cameras"]
    assert [item["index"] for item in items] == list(range(len(cameras)))
    assert [item["camera_id"] for item in items] == [c["camera_id"] for c in cameras]
    assert "camera_uuid" in items[0]
    assert "camera_uuid" in items[9]
    # roi_zones are stored as named zones that limit detections.
    assert items[9]["parameters"]["roi_only"] is True
    assert items[9]["parameters"]["zones"][0]["name"] == "zone-1"
    refused = {i: items[i] for i in range(1, 9)}
    assert {i: item["status_code"] for i, item in refused.items()} == {
        1: 422, 2: 422, 3: 422, 4: 422, 5: 422, 6: 422, 7: 422, 8: 409,
    }  # fmt: skip
    assert fields_of(refused[1]) == ["camera_id"]
    assert "rtsp://" in refused[2]["detail"]
    assert fields_of(refused[3]) == ["parameters.bogus"]
    assert "link-local" in refused[4]["detail"]
    assert "multicast" in refused[5]["detail"]
    assert "unspecified" in refused[6]["detail"]
    assert fields_of(refused[7]) == ["parameters.detectors"]
    assert refused[8]["error"] == "conflict"
    assert {c["camera_id"] for c in client.get("/cameras", headers=auth).json()["items"]} == {
        "good-1",
        "good-2",
    }

    # The same list on the camera-analytics route: 207, each refusal in its camera's place.
    other = signup_and_signin(client)
    compat = root.post("/api/cameras", json=cameras, headers=other)
    assert compat.status_code == 207, compat.text
    answered = compat.json()
    assert len(answered) == len(cameras)
    assert answered[0]["camera_id"] == "good-1"
    assert "runtime" in answered[0]
    assert answered[3]["index"] == 3
    assert answered[3]["error"]["status_code"] == 422
    assert fields_of(answered[3]["error"]) == ["parameters.bogus"]
    assert answered[8]["error"]["error"] == "conflict"

    # One camera alone answers its own error; a list of bad ones, 422 with every reason.
    alone = client.post("/cameras", json=camera("x", parameters={"bogus": 1}), headers=auth)
    assert alone.status_code == 422
    assert alone.json()["error"] == "validation_error"
    assert fields_of(alone.json()) == ["parameters.bogus"]
    none = client.post("/cameras", json=cameras[1:3], headers=auth)
    assert none.status_code == 422
    assert none.json()["error"] == "no_valid_cameras"
    assert [item["index"] for item in none.json()["cameras"]] == [0, 1]
    for shape in ([], [1, 2], "camera", [camera(f"c{i}") for i in range(101)]):
        assert client.post("/cameras", json=shape, headers=auth).status_code == 422


def test_the_camera_cap_holds_under_concurrent_registrations(strict_api: httpx.Client) -> None:
    headers = signup_and_signin(strict_api)
    private = "rtsp://172.16.34.2:554/media/video1"

    def register(camera_id: str) -> int:
        body = camera(camera_id, stream_url=private)
        return strict_api.post("/cameras", json=body, headers=headers).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(register, ["a", "b", "c", "d"]))
    assert codes == [201, 201, 409, 409]
    over = strict_api.post("/cameras", json=camera("e", stream_url=private), headers=headers)
    assert over.status_code == 409
    assert over.json()["limit"] == 2
    assert strict_api.get("/cameras", headers=headers).json()["total"] == 2

    fresh = signup_and_signin(strict_api)
    listed = strict_api.post(
        "/cameras",
        json=[camera(c, stream_url=private) for c in ("x", "y", "z")],
        headers=fresh,
    )
    assert listed.status_code == 201
    assert [item.get("status_code") for item in listed.json()["cameras"]] == [None, None, 409]


def test_loopback_is_refused_unless_allowed(strict_api: httpx.Client) -> None:
    headers = signup_and_signin(strict_api)
    for url in ("rtsp://127.0.0.1:8554/cam", "rtsp://localhost/cam", "rtsp://[::1]/cam"):
        refused = strict_api.post("/cameras", json=camera("local", stream_url=url), headers=headers)
        assert refused.status_code == 422, url
        assert "loopback" in refused.json()["detail"]
        assert "VIGIL_CAMERA_ALLOWED_NETWORKS" in refused.json()["detail"]


def test_file_cameras_play_only_under_the_file_root(
    strict_api: httpx.Client, client: httpx.Client, auth: dict[str, str], file_root: Path
) -> None:
    headers = signup_and_signin(strict_api)
    clip = file_root / "clip.mp4"
    created = strict_api.post(
        "/cameras", json=camera("demo", stream_url=clip.as_uri()), headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["stream_url"] == clip.as_uri()
    for url, reason in (
        (CLIP.as_uri(), "under VIGIL_CAMERA_FILE_ROOT"),
        (f"file://{file_root}/../{file_root.name}/../x.mp4", "under VIGIL_CAMERA_FILE_ROOT"),
        ((file_root / "missing.mp4").as_uri(), "no such file"),
        ("file://server/clip.mp4", "path on the server"),
    ):
        refused = strict_api.post("/cameras", json=camera("other", stream_url=url), headers=headers)
        assert refused.status_code == 422, url
        assert reason in refused.json()["detail"], refused.text
    # The shared stack has no file root: file cameras are off.
    off = client.post("/cameras", json=camera("demo", stream_url=clip.as_uri()), headers=auth)
    assert off.status_code == 422
    assert "VIGIL_CAMERA_FILE_ROOT is not set" in off.json()["detail"]


def test_someone_elses_camera_is_not_found(client: httpx.Client, root: httpx.Client) -> None:
    owner = signup_and_signin(client)
    stranger = signup_and_signin(client)
    assert client.post("/cameras", json=camera("mine"), headers=owner).status_code == 201
    assert client.get("/cameras/mine", headers=stranger).status_code == 404
    assert client.put("/cameras/mine", json=camera("mine"), headers=stranger).status_code == 404
    assert client.patch("/cameras/mine", json={"name": "x"}, headers=stranger).status_code == 404
    assert client.delete("/cameras/mine", headers=stranger).status_code == 404
    assert root.delete("/api/cameras/mine", headers=stranger).status_code == 404
    assert client.get("/cameras", headers=stranger).json()["total"] == 0
    assert root.get("/api/cameras", headers=stranger).json() == []
    # Ids no camera can have are not found either (never a 500).
    for bad in ("a" * 65, "sp ace", "nul%00"):
        assert client.get(f"/cameras/{bad}", headers=owner).status_code == 404
    assert client.get("/cameras/mine", headers=owner).json()["name"] is None
    assert client.get("/cameras/mine").status_code == 401


def test_credentials_are_stored_encrypted_and_never_shown(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str], stack: LocalStack
) -> None:
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1:8554/cam"
    answers = [client.post("/cameras", json=camera("secret", stream_url=url), headers=auth)]
    assert answers[0].status_code == 201, answers[0].text
    assert answers[0].json()["stream_url"] == "rtsp://***@127.0.0.1:8554/cam"
    assert answers[0].json()["has_credentials"] is True
    answers += [
        client.get("/cameras/secret", headers=auth),
        client.get("/cameras", headers=auth),
        client.patch("/cameras/secret", json={"name": "renamed"}, headers=auth),
        root.get("/api/cameras", headers=auth),
        root.post("/api/cameras", json=camera("secret-2", stream_url=url), headers=auth),
        client.post("/cameras", json=camera("secret", stream_url=url), headers=auth),
    ]
    for answer in answers:
        assert PASSWORD not in answer.text
        assert "admin" not in answer.text

    (row,) = db_fetch("SELECT * FROM cameras WHERE camera_id = 'secret'")
    assert all(PASSWORD not in str(value) for key, value in row.items() if key != "credentials_enc")
    assert PASSWORD not in row["credentials_enc"]
    assert row["stream_url"] == "rtsp://127.0.0.1:8554/cam"
    assert decrypt(row["credentials_enc"]) == Credentials("admin", PASSWORD)
    assert PASSWORD not in (stack.log_dir / "api.log").read_text()

    # A new URL replaces the credentials: without any, the camera has none.
    patched = client.patch("/cameras/secret", json={"stream_url": LOOPBACK_URL}, headers=auth)
    assert patched.json()["has_credentials"] is False
    (row,) = db_fetch("SELECT credentials_enc FROM cameras WHERE camera_id = 'secret'")
    assert row["credentials_enc"] is None


def _nudged(channel: redis.client.PubSub, camera_uuid: str, within_s: float = 2.0) -> bool:
    """Whether runners were told of this camera within `within_s` (other cameras' nudges, from
    other tests, are skipped)."""
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        message = channel.get_message(ignore_subscribe_messages=True, timeout=left)
        if message is not None and message["data"] == camera_uuid.encode():
            return True
    return False


@pytest.fixture
def nudges() -> Iterator[redis.client.PubSub]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    channel = connection.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
    channel.subscribe(CAMERAS_CHANGED_CHANNEL)
    channel.get_message(timeout=2)  # the subscription's confirmation
    yield channel
    channel.close()
    connection.close()


def _as_if_a_runner_held(camera_uuid: str) -> None:
    """What a runner writes once it has the camera: its lease, a generation and figures."""
    figures = {"fps_in": 25, "fps_analysed": 4.8, "resolution": [640, 352], "events_published": 7}
    db_fetch(
        "UPDATE cameras SET runner_id = 'runner-1', lease_until = now() + interval '1 minute', "
        "state = 'online', generation = 3, last_frame_at = now(), runtime = $2::jsonb "
        "WHERE id = $1::uuid",
        camera_uuid,
        json.dumps(figures),
    )


def test_changes_restart_the_camera_under_a_new_generation(
    client: httpx.Client, auth: dict[str, str], nudges: redis.client.PubSub
) -> None:
    created = client.post("/cameras", json=camera("yard"), headers=auth).json()
    camera_uuid = created["camera_uuid"]
    assert _nudged(nudges, camera_uuid)
    _as_if_a_runner_held(camera_uuid)
    runtime = client.get("/cameras/yard", headers=auth).json()["runtime"]
    assert runtime["state"] == "online"
    assert (runtime["runner"], runtime["generation"]) == ("runner-1", 3)
    assert (runtime["fps_in"], runtime["fps_analysed"]) == (25.0, 4.8)
    assert (runtime["resolution"], runtime["events_published"]) == ("640x352", 7)
    assert runtime["last_frame_at"] is not None
    assert (runtime["fps_target"], runtime["codec"], runtime["stalls_last_hour"]) == (None, None, 0)

    patched = client.patch("/cameras/yard", json={"parameters": {"detect_fps": 2}}, headers=auth)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["parameters"] == {"detect_fps": 2.0}
    assert (body["runtime"]["state"], body["runtime"]["generation"]) == ("pending", 4)
    assert body["runtime"]["runner"] is None
    assert body["runtime"]["fps_in"] is None
    (row,) = db_fetch("SELECT lease_until, runner_id FROM cameras WHERE id = $1::uuid", camera_uuid)
    assert (row["lease_until"], row["runner_id"]) == (None, None)
    assert _nudged(nudges, camera_uuid)

    stopped = client.patch("/cameras/yard", json={"status": "inactive"}, headers=auth).json()
    assert (stopped["status"], stopped["runtime"]["state"]) == ("inactive", "stopped")
    assert stopped["runtime"]["generation"] == 5
    assert _nudged(nudges, camera_uuid)

    # A name is no change to the analysis: same generation, no nudge.
    renamed = client.patch("/cameras/yard", json={"name": "Yard"}, headers=auth).json()
    assert (renamed["name"], renamed["runtime"]["generation"]) == ("Yard", 5)
    assert not _nudged(nudges, camera_uuid, 0.5)

    replaced = client.put("/cameras/yard", json={"stream_url": LOOPBACK_URL}, headers=auth)
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    # Replaced whole: what was left out takes its default.
    assert (body["name"], body["status"], body["parameters"]) == (None, "active", {})
    assert (body["runtime"]["state"], body["runtime"]["generation"]) == ("pending", 6)
    assert _nudged(nudges, camera_uuid)

    for change, field in (
        ({"parameters": {"bogus": 1}}, "parameters.bogus"),
        ({"status": None}, "body"),
        ({"stream_url": "ftp://172.16.34.2/x"}, None),
    ):
        refused = client.patch("/cameras/yard", json=change, headers=auth)
        assert refused.status_code == 422, change
        assert field is None or fields_of(refused.json()) == [field], refused.text
    renamed_put = client.put("/cameras/yard", json=camera("other"), headers=auth)
    assert renamed_put.status_code == 422
    assert fields_of(renamed_put.json()) == ["camera_id"]
    assert client.put("/cameras/yard", json=camera("yard"), headers=auth).status_code == 200


def test_delete_removes_the_camera_and_keeps_its_events(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str], nudges: redis.client.PubSub
) -> None:
    camera_uuid = client.post("/cameras", json=camera("door"), headers=auth).json()["camera_uuid"]
    me = client.get("/me", headers=auth).json()
    db_fetch(
        "INSERT INTO camera_events (event_id, owner_id, camera_uuid, camera_id, type, "
        "timestamp, generation, payload, created_at) "
        "VALUES ($1::uuid, $2::uuid, $3::uuid, 'door', 'status', now(), 1, '{}', now())",
        str(uuid.uuid4()),
        me["id"],
        camera_uuid,
    )
    assert _nudged(nudges, camera_uuid)
    deleted = client.delete("/cameras/door", headers=auth)
    assert deleted.status_code == 204
    assert _nudged(nudges, camera_uuid)
    assert client.get("/cameras/door", headers=auth).status_code == 404
    assert client.delete("/cameras/door", headers=auth).status_code == 404
    kept = db_fetch("SELECT 1 FROM camera_events WHERE camera_uuid = $1::uuid", camera_uuid)
    assert len(kept) == 1

    assert client.post("/cameras", json=camera("door"), headers=auth).status_code == 201
    stopped = root.delete("/api/cameras/door", headers=auth)
    assert stopped.status_code == 200
    assert stopped.json() == {"status": "stopped", "camera_id": "door"}
    assert client.get("/cameras/door", headers=auth).status_code == 404


def test_lists_page_and_filter(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str]
) -> None:
    body = [camera(f"cam-{i}", status="inactive" if i % 2 else "active") for i in range(5)]
    assert client.post("/cameras", json=body, headers=auth).json()["accepted"] == 5

    page = client.get("/cameras", params={"page_size": 2}, headers=auth).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 1, 2)
    assert [c["camera_id"] for c in page["items"]] == ["cam-0", "cam-1"]
    last = client.get("/cameras", params={"page_size": 2, "page": 3}, headers=auth).json()
    assert [c["camera_id"] for c in last["items"]] == ["cam-4"]

    def ids(**query: str) -> list[str]:
        found = client.get("/cameras", params=query, headers=auth).json()
        return [c["camera_id"] for c in found["items"]]

    assert ids(status="inactive") == ["cam-1", "cam-3"]
    assert ids(state="pending") == ["cam-0", "cam-2", "cam-4"]
    assert ids(state="stopped", status="inactive") == ["cam-1", "cam-3"]
    assert ids(state="online") == []
    assert client.get("/cameras", params={"state": "bogus"}, headers=auth).status_code == 422

    active = root.get("/api/cameras", headers=auth).json()
    assert [c["camera_id"] for c in active] == ["cam-0", "cam-2", "cam-4"]
    everything = root.get("/api/cameras", params={"all": "1"}, headers=auth).json()
    assert [c["camera_id"] for c in everything] == ["cam-0", "cam-2", "cam-4", "cam-1", "cam-3"]


def _runners(client: httpx.Client) -> dict[str, int]:
    runners: dict[str, int] = client.get("/health").json()["runners"]
    return runners


def test_health_counts_cameras_and_live_runners(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str]
) -> None:
    assert root.get("/api/health").status_code == 401
    client.post(
        "/cameras",
        json=[camera("one"), camera("two"), camera("three", status="inactive")],
        headers=auth,
    )
    before = _runners(client)
    assert set(before) == {"count", "cameras", "capacity"}
    live, dead = f"test-runner-{uuid.uuid4().hex[:8]}", f"test-runner-{uuid.uuid4().hex[:8]}"
    insert = (
        "INSERT INTO camera_runners (id, hostname, pid, capacity, cameras, version, started_at, "
        "heartbeat_at) VALUES ($1, 'host', 1, 8, 2, 'test', now(), now() - $2::interval)"
    )
    db_fetch(insert, live, timedelta(0))
    db_fetch(insert, dead, timedelta(hours=1))
    try:
        expected = {
            "count": before["count"] + 1,
            "cameras": before["cameras"] + 2,
            "capacity": before["capacity"] + 8,
        }
        deadline = time.monotonic() + 15  # the health report is cached for a few seconds
        while _runners(client) != expected:
            assert time.monotonic() < deadline, _runners(client)
            db_fetch("UPDATE camera_runners SET heartbeat_at = now() WHERE id = $1", live)
            time.sleep(0.5)
        assert client.get("/health").status_code == 200

        uuid_one = client.get("/cameras/one", headers=auth).json()["camera_uuid"]
        db_fetch("UPDATE cameras SET state = 'online' WHERE id = $1::uuid", uuid_one)
        answer = root.get("/api/health", headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {
            "status", "service", "active_connections", "cameras", "runners", "checks",
        }  # fmt: skip
        assert (body["status"], body["service"], body["active_connections"]) == ("ok", "vigil", 0)
        assert body["cameras"] == {"active": 2, "online": 1}
        assert set(body["runners"]) == {"count", "cameras", "capacity"}
        assert set(body["checks"]) == {"database", "redis", "workers"}
        assert "host" not in json.dumps(body["runners"])
    finally:
        db_fetch("DELETE FROM camera_runners WHERE id = ANY($1::text[])", [live, dead])


def test_api_keys_register_cameras_within_their_scopes(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str]
) -> None:
    def key(scopes: list[str]) -> dict[str, str]:
        made = client.post("/api-keys", json={"name": "cams", "scopes": scopes}, headers=auth)
        assert made.status_code == 201, made.text
        return {"X-API-Key": made.json()["key"]}

    writer, reader = key(["read", "write"]), key(["read"])
    assert root.post("/api/cameras", json=ANALYTICS_PAYLOAD, headers=writer).status_code == 201
    assert root.post("/api/cameras", json=[camera("r")], headers=reader).status_code == 403
    assert (
        root.delete(f"/api/cameras/{ANALYTICS_PAYLOAD[0]['camera_id']}", headers=reader).status_code
        == 403
    )
    assert len(root.get("/api/cameras", headers=reader).json()) == 1
    assert root.get("/api/health", headers=reader).status_code == 200


def test_camera_webhooks_can_be_subscribed(client: httpx.Client, auth: dict[str, str]) -> None:
    created = client.post(
        "/webhooks",
        json={
            "url": "http://127.0.0.1:9/hooks",
            "event_types": ["camera.online", "camera.offline"],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["event_types"] == ["camera.online", "camera.offline"]


def test_concurrent_lists_share_the_cap(strict_api: httpx.Client) -> None:
    """Two lists at once from one owner: the owner's lock counts one after the other."""
    headers = signup_and_signin(strict_api)
    private = "rtsp://172.16.34.2/stream"

    async def post(prefix: str) -> int:
        async with httpx.AsyncClient(base_url=strict_api.base_url, timeout=60) as http:
            body = [camera(f"{prefix}-{i}", stream_url=private) for i in range(2)]
            answer = await http.post("/cameras", json=body, headers=headers)
            return int(answer.json().get("accepted", 0))

    async def both() -> list[int]:
        return list(await asyncio.gather(post("a"), post("b")))

    assert sum(asyncio.run(both())) == 2
    assert strict_api.get("/cameras", headers=headers).json()["total"] == 2


def test_file_paths_the_file_system_refuses_are_refused_alone(
    strict_api: httpx.Client, file_root: Path
) -> None:
    """A NUL, a name longer than the file system takes, a control character: each a 422 naming
    the problem, and in a list each camera's own, never a 500 for the whole list."""
    headers = signup_and_signin(strict_api)
    bad = [
        f"file://{file_root}/%00.mp4",
        f"file://{file_root}/{'a' * 300}.mp4",
        f"file://{file_root}/clip%0a.mp4",
    ]
    for url in bad:
        alone = strict_api.post("/cameras", json=camera("bad", stream_url=url), headers=headers)
        assert alone.status_code == 422, (url, alone.text)
        assert alone.json()["detail"].startswith("stream_url: "), alone.text
    good = camera("good", stream_url=(file_root / "clip.mp4").as_uri())
    body = [good, *(camera(f"bad-{i}", stream_url=url) for i, url in enumerate(bad))]
    listed = strict_api.post("/cameras", json=body, headers=headers)
    assert listed.status_code == 201, listed.text
    items = listed.json()["cameras"]
    assert [item.get("status_code") for item in items] == [None, 422, 422, 422]
    assert "control character" in items[1]["detail"]
    assert "cannot be opened" in items[2]["detail"]


def test_a_refused_url_never_quotes_its_password(
    client: httpx.Client, root: httpx.Client, auth: dict[str, str]
) -> None:
    for url in (
        # Read as a bracketed host, which is no address.
        f"rtsp://admin:[{PASSWORD}]/@127.0.0.1:8554/cam",
        # An unencoded `/` ends the host: what comes before it is read as the port.
        f"rtsp://admin:{PASSWORD}/x@127.0.0.1:8554/cam",
    ):
        answers = [
            client.post("/cameras", json=camera("leak", stream_url=url), headers=auth),
            client.post("/cameras", json=[camera("leak", stream_url=url)], headers=auth),
            root.post("/api/cameras", json=[camera("leak", stream_url=url)], headers=auth),
        ]
        for answer in answers:
            assert answer.status_code == 422, answer.text
            assert "not a valid URL" in answer.text
            assert PASSWORD not in answer.text
            assert PASSWORD.split("-")[0] not in answer.text


def test_credentials_in_the_query_string_are_refused(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    base = "rtsp://127.0.0.1:8554/cam"
    for query in (
        f"user=admin&password={PASSWORD}",
        f"pwd={PASSWORD}",
        f"username=admin&passwd={PASSWORD}",
        f"Token={PASSWORD}",
        f"auth={PASSWORD}",
    ):
        url = f"{base}?channel=1&{query}"
        refused = client.post("/cameras", json=camera("query", stream_url=url), headers=auth)
        assert refused.status_code == 422, refused.text
        assert "user:password@" in refused.json()["detail"]
        assert PASSWORD not in refused.text
    kept = client.post(
        "/cameras", json=camera("query", stream_url=f"{base}?channel=1&user=admin"), headers=auth
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["stream_url"] == f"{base}?channel=1&user=admin"
    patched = client.patch(
        "/cameras/query", json={"stream_url": f"{base}?password={PASSWORD}"}, headers=auth
    )
    assert patched.status_code == 422
    replaced = client.put(
        "/cameras/query", json={"stream_url": f"{base}?pwd={PASSWORD}"}, headers=auth
    )
    assert replaced.status_code == 422
    assert not db_fetch("SELECT 1 FROM cameras WHERE stream_url LIKE '%' || $1 || '%'", PASSWORD)


def test_a_long_list_of_unresolvable_hosts_is_answered_and_others_go_on(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """The most cameras a list may have, none of whose hosts resolves: each is refused on its
    own, while another user's camera is registered meanwhile. (A label over 63 characters is
    refused by the resolver without asking DNS, so no DNS server's timing is involved.)"""
    label = "x" * 64
    hosts = [
        camera(f"nowhere-{i}", stream_url=f"rtsp://{label}.cam-{i}.invalid/") for i in range(100)
    ]
    other = signup_and_signin(client)

    def register_list() -> httpx.Response:
        return client.post("/cameras", json=hosts, headers=auth)

    with ThreadPoolExecutor(1) as pool:
        listed = pool.submit(register_list)
        alone = client.post("/cameras", json=camera("elsewhere"), headers=other)
        answer = listed.result()
    assert alone.status_code == 201, alone.text
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "no_valid_cameras"
    items = answer.json()["cameras"]
    assert len(items) == 100
    assert all("cannot resolve the host" in item["detail"] for item in items), items


def _consistent(camera_id: str) -> bool:
    """The camera's state fits its desired state as a restart leaves it: stopped when
    inactive, and never stopped when active (a runner may have claimed it since)."""
    (row,) = db_fetch("SELECT desired_state, state FROM cameras WHERE camera_id = $1", camera_id)
    return bool((row["state"] == "stopped") == (row["desired_state"] == "inactive"))


def test_the_state_follows_the_desired_state_under_concurrent_patches(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """Status changes racing changes that restart the camera (its parameters): however they
    interleave, the state fits the desired state the camera ends with."""
    camera_id = f"racy-{uuid.uuid4().hex[:6]}"
    assert client.post("/cameras", json=camera(camera_id), headers=auth).status_code == 201

    async def race(round_: int) -> list[int]:
        async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as http:
            changes = [
                {"status": "inactive" if (round_ + i) % 2 else "active"} for i in range(3)
            ] + [{"parameters": {"detect_fps": 1 + i}} for i in range(3)]
            answers = await asyncio.gather(
                *(http.patch(f"/cameras/{camera_id}", json=c, headers=auth) for c in changes)
            )
            return [answer.status_code for answer in answers]

    for round_ in range(8):
        assert asyncio.run(race(round_)) == [200] * 6
        assert _consistent(camera_id), round_


def test_a_restart_takes_the_desired_state_the_update_finds(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """Deterministically, the interleaving the race above looks for: parameters changed on a
    camera read before another request made it inactive."""
    created = client.post("/cameras", json=camera("stale"), headers=auth)
    camera_uuid = created.json()["camera_uuid"]

    async def stale_update() -> tuple[str, str]:
        await Tortoise.init(config=tortoise_config(TEST_ENV["VIGIL_DATABASE_URL"]))
        try:
            stale = await Camera.get(id=camera_uuid)
            # Another request, meanwhile: the camera is made inactive.
            await Camera.filter(id=camera_uuid).update(
                desired_state=CameraDesiredState.INACTIVE, state=CameraState.STOPPED
            )
            updated = await cameras_repo.update(stale, {"params": {"detect_fps": 2}}, restart=True)
            return updated.desired_state.value, updated.state.value
        finally:
            await Tortoise.close_connections()

    assert asyncio.run(stale_update()) == ("inactive", "stopped")
    shown = client.get("/cameras/stale", headers=auth).json()
    assert (shown["status"], shown["runtime"]["state"]) == ("inactive", "stopped")
