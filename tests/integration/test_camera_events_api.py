"""Camera events against the real stack: the server-sent event streams over the Redis Stream
(exact resume with Last-Event-ID, one camera or all of an owner's, the end of a stream), the
search of the events kept in Postgres, the cameras' series of /metrics, and the SDK and CLI on
top of them. Events and frames are written as a runner writes them (camera_feed.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction
from vigil_sdk import Client, NotFoundError
from vigil_sdk.sse import ServerEvent, SSEParser

from shared.db.config import tortoise_config
from shared.db.enums import CameraEventType
from shared.ops.localstack import LocalStack
from shared.repositories import camera_events
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.integration.camera_feed import add_camera, bus, publish, put_frame
from tests.integration.conftest import PASSWORD, api_process, db_fetch, signup_and_signin
from tests.integration.test_metrics import SCRAPER, parse, value

VIGIL = str(Path(sys.executable).with_name("vigil"))


def owner_id(client: httpx.Client, headers: dict[str, str]) -> str:
    return str(client.get("/me", headers=headers).json()["id"])


def events_of(response: httpx.Response) -> Iterator[ServerEvent]:
    parser = SSEParser()
    for line in response.iter_lines():
        if (event := parser.feed(line)) is not None:
            yield event


def take(events: Iterator[ServerEvent], count: int) -> list[ServerEvent]:
    return [next(events) for _ in range(count)]


# streams


def test_a_camera_stream_sends_its_events_and_resumes_exactly(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    me = owner_id(client, auth)
    camera, sibling = add_camera(client, auth), add_camera(client, auth)
    stranger = signup_and_signin(client)
    foreign = add_camera(client, stranger)
    path = f"/cameras/{camera['camera_id']}/events"

    with client.stream("GET", path, headers=auth) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = events_of(response)
        ready = next(events)
        assert ready["event"] == "ready"
        assert ready["data"] == {"camera_id": camera["camera_id"], "position": ready["id"]}
        # The stream holds every camera's events: only this camera's come through.
        publish(sibling, me, plate="SIBLING")
        publish(foreign, owner_id(client, stranger), plate="FOREIGN")
        ids = [publish(camera, me, "motion", n=n) for n in range(2)]
        first, second = take(events, 2)
    assert [(e["id"], e["event"], e["data"]["n"]) for e in (first, second)] == [
        (ids[0], "motion", 0),
        (ids[1], "motion", 1),
    ]
    assert first["data"]["camera_uuid"] == camera["camera_uuid"]

    # Published while nobody listened: a reconnection with Last-Event-ID gets exactly these.
    missed = [publish(camera, me, "anpr", n=n) for n in range(2, 5)]
    resumed = {"Last-Event-ID": ids[1], **auth}
    with client.stream("GET", path, headers=resumed) as response:
        events = events_of(response)
        assert next(events)["id"] == ids[1]
        got = take(events, 3)
        later = publish(camera, me, "status", n=5)
        assert next(events)["id"] == later
    assert [e["id"] for e in got] == missed
    assert [e["data"]["n"] for e in got] == [2, 3, 4]

    # A stream that got nothing but `ready` resumes from where it started.
    with client.stream("GET", path, headers=auth) as response:
        start = next(events_of(response))["id"]
    assert start is not None
    after_start = publish(camera, me, n=6)
    with client.stream("GET", path, headers={"Last-Event-ID": start, **auth}) as response:
        events = events_of(response)
        next(events)
        assert next(events)["id"] == after_start


def test_a_resume_past_trimmed_events_says_there_is_a_gap(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API on a stream of its own, trimmed as MAXLEN trims it: a client whose Last-Event-ID
    is older than what is left is told, with `gap`, where the stream resumes."""
    name = f"stream:events-gap-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(get_settings(), "events_stream", name)  # where publish() writes
    with (
        api_process("events-gap", {"VIGIL_EVENTS_STREAM": name}) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=30) as client,
    ):
        auth = signup_and_signin(client)
        camera = add_camera(client, auth)
        path = f"/cameras/{camera['camera_id']}/events"
        ids = [publish(camera, owner_id(client, auth), n=n) for n in range(5)]
        # Nothing trimmed yet: a client from before the first event misses nothing.
        with client.stream("GET", path, headers={"Last-Event-ID": "0-0", **auth}) as response:
            ready, first = take(events_of(response), 2)
        assert (ready["event"], first["id"]) == ("ready", ids[0])

        bus().xtrim(name, maxlen=2, approximate=False)
        with client.stream("GET", path, headers={"Last-Event-ID": ids[1], **auth}) as response:
            events = events_of(response)
            ready, gap, *resumed = take(events, 4)
        assert ready["id"] == ids[1]
        assert gap["event"] == "gap"
        assert {key: gap["data"][key] for key in ("camera_id", "last_event_id")} == {
            "camera_id": camera["camera_id"],
            "last_event_id": ids[1],
        }
        assert gap["data"]["first_available"] == ids[3]
        # The gap has no id of its own: a client that reconnects after it still asks from ids[1].
        assert gap["id"] == ids[1]
        assert [event["id"] for event in resumed] == ids[3:]

        # From an event still on the stream: no gap.
        with client.stream("GET", path, headers={"Last-Event-ID": ids[3], **auth}) as response:
            ready, following = take(events_of(response), 2)
        assert (following["event"], following["id"]) == ("detection", ids[4])


def test_the_owner_stream_follows_all_their_cameras_only(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    me = owner_id(client, auth)
    cameras = [add_camera(client, auth) for _ in range(2)]
    stranger = signup_and_signin(client)
    foreign = add_camera(client, stranger)
    with client.stream("GET", "/events/stream", headers=auth) as response:
        events = events_of(response)
        assert next(events)["event"] == "ready"
        publish(foreign, owner_id(client, stranger))
        ids = [publish(camera, me, "detection") for camera in cameras]
        got = take(events, 2)
    assert [e["id"] for e in got] == ids
    assert [e["data"]["camera_id"] for e in got] == [c["camera_id"] for c in cameras]


@pytest.mark.parametrize("bad", ["abc", "1-2-3", "-1-0", "1", "99999999999999999999-0", "1-x"])
def test_a_malformed_last_event_id_is_refused(
    client: httpx.Client, auth: dict[str, str], bad: str
) -> None:
    answer = client.get("/events/stream", headers={"Last-Event-ID": bad, **auth})
    assert answer.status_code == 422
    assert answer.json()["fields"][0]["field"] == "header.Last-Event-ID"


def test_a_camera_stream_ends_when_the_camera_is_deleted_or_the_sign_in_ends(
    client: httpx.Client,
) -> None:
    owner = signup_and_signin(client)
    camera = add_camera(client, owner)
    with client.stream("GET", f"/cameras/{camera['camera_id']}/events", headers=owner) as response:
        events = events_of(response)
        next(events)
        assert client.delete(f"/cameras/{camera['camera_id']}", headers=owner).status_code == 204
        end = next(events)
        assert (end["event"], end["data"]) == (
            "end",
            {"camera_id": camera["camera_id"], "reason": "deleted"},
        )
        assert list(events) == []

    with client.stream("GET", "/events/stream", headers=owner) as response:
        events = events_of(response)
        next(events)
        assert client.post("/auth/signout-all", headers=owner).status_code == 204
        assert next(events)["event"] == "signed_out"
        assert list(events) == []


def test_event_and_mjpeg_streams_share_the_per_user_cap(client: httpx.Client) -> None:
    owner = signup_and_signin(client)
    camera = add_camera(client, owner)
    put_frame(camera["camera_uuid"], 1)
    with ExitStack() as streams:
        opened = [
            streams.enter_context(client.stream("GET", "/events/stream", headers=owner))
            for _ in range(9)
        ]
        opened.append(
            streams.enter_context(
                client.stream("GET", f"/cameras/{camera['camera_id']}/mjpeg", headers=owner)
            )
        )
        assert {r.status_code for r in opened} == {200}
        refused = client.get(f"/cameras/{camera['camera_id']}/events", headers=owner)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        refused_mjpeg = client.get(f"/cameras/{camera['camera_id']}/mjpeg", headers=owner)
        assert refused_mjpeg.status_code == 429
    # Closed streams give their slots back.
    deadline = time.monotonic() + 10
    while True:
        with client.stream("GET", "/events/stream", headers=owner) as again:
            if again.status_code == 200:
                break
        assert time.monotonic() < deadline, "the slots came back"
        time.sleep(0.2)


# search


def record(
    owner: str,
    camera: dict[str, Any],
    kind: CameraEventType,
    at: datetime,
    plate: str | None = None,
) -> camera_events.CameraEventRecord:
    return camera_events.CameraEventRecord(
        event_id=uuid.uuid4(),
        owner_id=uuid.UUID(owner),
        camera_uuid=uuid.UUID(camera["camera_uuid"]),
        camera_id=camera["camera_id"],
        type=kind,
        timestamp=at,
        generation=1,
        payload={"event_type": kind.value, "plate": plate},
        plate=plate,
    )


def store(records: list[camera_events.CameraEventRecord]) -> None:
    """As the runner keeps them: with the repository, in a transaction."""

    async def add() -> None:
        await Tortoise.init(config=tortoise_config(TEST_ENV["VIGIL_DATABASE_URL"]))
        try:
            async with in_transaction() as conn:
                for item in records:
                    await camera_events.add(conn, item)
        finally:
            await Tortoise.close_connections()

    asyncio.run(add())


def test_search_filters_by_camera_type_plate_and_time(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    me = owner_id(client, auth)
    gate, yard = add_camera(client, auth), add_camera(client, auth)
    stranger = signup_and_signin(client)
    foreign = add_camera(client, stranger)
    noon = datetime(2026, 11, 29, 12, tzinfo=UTC)
    store(
        [
            record(me, gate, CameraEventType.ANPR, noon, "AB12CDE"),
            record(
                me, gate, CameraEventType.WATCHLIST_MATCH, noon + timedelta(minutes=1), "AB12CDE"
            ),
            record(me, yard, CameraEventType.ANPR, noon + timedelta(minutes=2), "XY99ZZZ"),
            record(me, yard, CameraEventType.STATUS, noon + timedelta(minutes=3)),
            record(owner_id(client, stranger), foreign, CameraEventType.ANPR, noon, "AB12CDE"),
        ]
    )

    def search(**query: Any) -> dict[str, Any]:
        answer = client.get("/events", params=query, headers=auth)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    everything = search()
    assert everything["total"] == 4
    assert [e["type"] for e in everything["items"]] == ["status", "anpr", "watchlist_match", "anpr"]
    assert {e["camera_id"] for e in everything["items"]} == {gate["camera_id"], yard["camera_id"]}
    assert search(camera_id=gate["camera_id"])["total"] == 2
    assert search(type="anpr")["total"] == 2
    by_plate = search(plate="ab-12 cde")
    assert [e["type"] for e in by_plate["items"]] == ["watchlist_match", "anpr"]
    assert search(plate="AB12CD")["total"] == 0  # exact, not a prefix
    window = search(since="2026-11-29T12:01:00Z", until="2026-11-29T13:03:00+01:00")
    assert [e["type"] for e in window["items"]] == ["anpr", "watchlist_match"]
    paged = search(page=2, page_size=3)
    assert (paged["total"], paged["page"], paged["page_size"], len(paged["items"])) == (4, 2, 3, 1)
    item = everything["items"][1]
    assert item["plate"] == "XY99ZZZ"
    assert item["payload"] == {
        "event_type": "anpr",
        "plate": "XY99ZZZ",
    }
    assert item["camera_uuid"] == yard["camera_uuid"]
    # History outlives the camera.
    assert client.delete(f"/cameras/{yard['camera_id']}", headers=auth).status_code == 204
    assert search(camera_id=yard["camera_id"])["total"] == 2


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2026-11-29T12:00:00"},  # no time zone
        {"since": "2026-13-01T00:00:00Z"},
        {"type": "detection"},
        {"plate": "--"},
        {"camera_id": "bad camera"},
        {"page_size": 101},
        {"page": 0},
    ],
)
def test_search_refuses_bad_filters(
    client: httpx.Client, auth: dict[str, str], query: dict[str, Any]
) -> None:
    answer = client.get("/events", params=query, headers=auth)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "validation_error"


# metrics


def test_metrics_count_the_registered_cameras_by_state(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    def scrape() -> dict[str, Any]:
        return parse(httpx.get(f"{stack.base_url}/metrics", headers=SCRAPER, timeout=30).text)

    before = scrape()
    add_camera(client, auth, held_in="online")
    add_camera(client, auth, held_in=None, status="inactive")
    after = scrape()
    for state, more in (("online", 1), ("stopped", 1)):
        grown = value(after, "vigil_cameras", state=state) - value(
            before, "vigil_cameras", state=state
        )
        assert grown == more, state
    # Every state is there, 0 or not.
    assert {s.labels["state"] for s in after["vigil_cameras"]} == {
        "pending",
        "starting",
        "online",
        "degraded",
        "reconnecting",
        "offline",
        "stopped",
        "error",
    }


# the SDK and the CLI


@pytest.fixture
def sdk(stack: LocalStack) -> Iterator[Client]:
    email = f"sdk-cams-{uuid.uuid4().hex[:8]}@example.com"
    with Client(stack.base_url) as client:
        client.signup(email, PASSWORD)
        client.signin(email, PASSWORD)
        yield client


def test_sdk_manages_cameras_snapshots_and_events(sdk: Client) -> None:
    me = str(sdk.me().id)
    camera = sdk.add_camera(
        "gate", "rtsp://admin:pw@192.168.77.11/stream", name="Gate", active=False
    )
    assert (camera.camera_id, camera.name, camera.status) == ("gate", "Gate", "inactive")
    assert camera.stream_url == "rtsp://***@192.168.77.11/stream"
    assert camera.runtime.state == "stopped"
    batch = sdk.add_cameras(
        [
            {"camera_id": "yard", "stream_url": "rtsp://192.168.77.12/s"},
            {"camera_id": "gate", "stream_url": "rtsp://192.168.77.12/s"},
        ]
    )
    assert (batch.accepted, batch.rejected) == (1, 1)
    assert [c.camera_id for c in sdk.list_cameras().items] == ["gate", "yard"]
    assert sdk.get_camera("yard").status == "active"
    assert sdk.update_camera("yard", status="inactive").status == "inactive"
    assert [c.camera_id for c in sdk.list_cameras(status="active").items] == []
    assert [c.camera_id for c in sdk.list_cameras(state="stopped").items] == ["gate", "yard"]

    # As a runner holding it would have it (the stack's runner could not reach it).
    db_fetch(
        "UPDATE cameras SET desired_state = 'active', state = 'online', runner_id = 'tests',"
        " lease_until = now() + interval '1 hour' WHERE id = $1::uuid",
        str(camera.camera_uuid),
    )
    image = put_frame(str(camera.camera_uuid), 3)
    assert sdk.camera_snapshot("gate") == image
    token = sdk.camera_view_token("gate")
    assert token.snapshot_url.endswith(f"?token={token.token}")

    gate = {"camera_id": "gate", "camera_uuid": str(camera.camera_uuid)}
    # The generator connects on its first next(): resuming after a known event makes what is
    # published meanwhile come through whenever that is.
    mark = publish(gate, me, "motion", n=0)
    events = sdk.iter_camera_events("gate", last_event_id=mark)
    first = publish(gate, me, "motion", n=1)
    got = next(events)
    assert (got["id"], got["event"], got["data"]["n"]) == (first, "motion", 1)
    events.close()
    missed = publish(gate, me, "motion", n=2)
    resumed = sdk.iter_camera_events("gate", last_event_id=first)
    assert next(resumed)["id"] == missed
    resumed.close()

    noon = datetime(2026, 11, 29, 12, tzinfo=UTC)
    store([record(me, gate, CameraEventType.ANPR, noon, "KA22P3368")])
    found = sdk.search_events(plate="ka 22 p 3368")
    assert [e.plate for e in found.items] == ["KA22P3368"]
    assert found.items[0].timestamp == noon

    sdk.delete_camera("yard")
    with pytest.raises(NotFoundError):
        sdk.get_camera("yard")


def vigil(stack: LocalStack, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIL_URL": stack.base_url, "VIGIL_TOKEN": token}
    return subprocess.run(
        [VIGIL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_cli_cameras_and_events_tail(stack: LocalStack, sdk: Client, tmp_path: Path) -> None:
    me = str(sdk.me().id)
    token = sdk._core.access_token
    assert token is not None
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"detection_classes": ["person"]}))
    added = vigil(
        stack,
        token,
        "cameras",
        "add",
        "door",
        "rtsp://192.168.77.13/s",
        "--name",
        "Door",
        "--params",
        f"@{params}",
        "--inactive",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["status"] == "inactive"
    bad = vigil(
        stack, token, "cameras", "add", "door2", "rtsp://192.168.77.13/s", "--params", "{not json"
    )
    assert bad.returncode == 2
    assert "--params" in bad.stderr
    listed = vigil(stack, token, "cameras", "list", "--state", "stopped")
    assert [c["camera_id"] for c in json.loads(listed.stdout)["items"]] == ["door"]
    shown = json.loads(vigil(stack, token, "cameras", "show", "door").stdout)
    assert shown["parameters"] == {"detection_classes": ["person"]}

    door = {"camera_id": "door", "camera_uuid": shown["camera_uuid"]}
    mark = publish(door, me, "status", n=-1)
    env = {**os.environ, "VIGIL_URL": stack.base_url, "VIGIL_TOKEN": token}
    tail = subprocess.Popen(
        [VIGIL, "events", "tail", "--camera", "door", "--last-event-id", mark],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        published = [publish(door, me, "status", n=n) for n in range(2)]
        assert tail.stdout is not None
        lines = [json.loads(tail.stdout.readline()) for _ in published]
    finally:
        tail.terminate()
        tail.wait(10)
    assert [(line["id"], line["event"], line["data"]["n"]) for line in lines] == [
        (published[0], "status", 0),
        (published[1], "status", 1),
    ]

    assert vigil(stack, token, "cameras", "rm", "door").returncode == 0
    gone = vigil(stack, token, "cameras", "show", "door")
    assert gone.returncode == 1
    assert "not found" in gone.stderr
