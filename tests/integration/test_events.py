"""Live progress over server-sent events, against the real worker's Redis events."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

import httpx
import redis

from api.jobs.events import MAX_STREAMS_PER_USER
from shared.events import job_channel
from shared.settings import get_settings
from tests.integration.conftest import signup_and_signin, sse_messages, submit
from tests.media import BUS, PEDESTRIANS


def read_events(
    client: httpx.Client, job_id: str, headers: dict[str, str]
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    """Every event of a job's stream, read until the server closes it."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response:
        if response.status_code != 200:
            response.read()
            return response, events
        events.extend(sse_messages(response.iter_lines()))
    return response, events


def test_stream_follows_a_video_to_its_end(client: httpx.Client, auth: dict[str, str]) -> None:
    accepted = submit(client, auth, PEDESTRIANS, {"max_frames": 90})
    response, events = read_events(client, accepted["job_id"], auth)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    names = [name for name, _ in events]
    first = events[0][1]
    assert names[0] == "status"
    assert first["job_id"] == accepted["job_id"]
    assert first["status"] in ("queued", "processing")
    assert first["status_url"] == accepted["status_url"]

    progress = [data for name, data in events if name == "progress"]
    assert progress, names
    frames = [p["frames_processed"] for p in progress]
    assert frames == sorted(set(frames)), frames
    assert all(p["frames_total"] == 90 and 0 < p["progress"] < 100 for p in progress)

    # The stream ended by itself: the terminal status (the full record) and `end`.
    assert names[-2:] == ["status", "end"]
    final, end = events[-2][1], events[-1][1]
    assert final["status"] == "completed"
    assert final["progress"] == 100.0
    assert final["frames_processed"] == 90
    assert end == {"job_id": accepted["job_id"], "status": "completed"}
    assert names.count("end") == 1


def test_a_finished_job_sends_its_status_and_ends_at_once(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    with BUS.open("rb") as handle:
        done = client.post("/process/image", files={"file": handle}, headers=auth).json()
    _, events = read_events(client, done["job_id"], auth)
    assert [name for name, _ in events] == ["status", "end"]
    assert events[0][1]["status"] == "completed"
    assert events[0][1]["kind"] == "image"
    assert events[1][1] == {"job_id": done["job_id"], "status": "completed"}


def test_the_stream_is_for_the_owner_only(client: httpx.Client, auth: dict[str, str]) -> None:
    with BUS.open("rb") as handle:
        job_id = client.post("/process/image", files={"file": handle}, headers=auth).json()[
            "job_id"
        ]
    intruder = signup_and_signin(client)
    for headers, status, code in (
        (intruder, 404, "not_found"),
        ({}, 401, "not_authenticated"),
        ({"Authorization": "Bearer not-a-token"}, 401, "not_authenticated"),
    ):
        response, events = read_events(client, job_id, headers)
        assert response.status_code == status
        assert response.json()["error"] == code
        assert events == []
    assert read_events(client, str(uuid.uuid4()), auth)[0].status_code == 404
    assert read_events(client, "not-a-uuid", auth)[0].status_code == 404


def _subscribers(job_id: str) -> int:
    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        return int(client.pubsub_numsub(job_channel(job_id))[0][1])
    finally:
        client.close()


def test_deleting_a_running_job_ends_its_stream_and_a_leaving_client_unsubscribes(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = submit(client, auth, PEDESTRIANS, {})  # all 341 frames: longer than this test
    job_id = accepted["job_id"]
    seen: list[str] = []
    deleted = False
    end: dict[str, Any] = {}
    with client.stream("GET", f"/jobs/{job_id}/events", headers=auth) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                seen.append(line.removeprefix("event: "))
            elif line.startswith("data: ") and seen[-1] == "progress" and not deleted:
                assert _subscribers(job_id) == 1
                assert client.delete(f"/jobs/{job_id}", headers=auth).status_code == 204
                deleted = True
            elif line.startswith("data: ") and seen[-1] == "end":
                end = json.loads(line.removeprefix("data: "))
    # No terminal status comes: the stream learns from Postgres that the job is gone.
    assert seen[0] == "status"
    assert seen[-1] == "end"
    assert end == {"job_id": job_id, "status": "deleted"}

    # A client that goes away mid-stream releases its subscription.
    accepted = submit(client, auth, PEDESTRIANS, {})
    job_id = accepted["job_id"]
    with client.stream("GET", f"/jobs/{job_id}/events", headers=auth) as response:
        lines = response.iter_lines()  # kept: a dropped iterator closes the connection
        assert next(lines) == "event: status"
        assert _subscribers(job_id) == 1
    deadline = time.monotonic() + 30
    while _subscribers(job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _subscribers(job_id) == 0
    assert client.delete(f"/jobs/{job_id}", headers=auth).status_code == 204


def _open_slots(user_id: str) -> int:
    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        return int(client.zcard(f"sse:streams:{user_id}"))
    finally:
        client.close()


def test_a_user_has_a_bounded_number_of_streams_open_at_once(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    accepted = submit(client, auth, PEDESTRIANS, {})  # all 341 frames: longer than this test
    url = f"/jobs/{accepted['job_id']}/events"
    user_id = client.get("/me", headers=auth).json()["id"]
    with contextlib.ExitStack() as streams:
        for _ in range(MAX_STREAMS_PER_USER):
            response = streams.enter_context(client.stream("GET", url, headers=auth))
            assert response.status_code == 200
        with client.stream("GET", url, headers=auth) as refused:
            refused.read()
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "rate_limited"
        assert f"more than {MAX_STREAMS_PER_USER}" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["X-RateLimit-Limit"] == str(MAX_STREAMS_PER_USER)
        assert _open_slots(user_id) == MAX_STREAMS_PER_USER

        # The cap is per user: someone else's stream opens.
        other = signup_and_signin(client)
        theirs = client.post(
            "/process/batch", files={"files": ("bus.jpg", BUS.read_bytes())}, headers=other
        ).json()["jobs"][0]["job_id"]
        with client.stream("GET", f"/jobs/{theirs}/events", headers=other) as response:
            assert response.status_code == 200
        assert client.delete(f"/jobs/{theirs}", headers=other).status_code == 204

    # Clients that leave give their slots back.
    deadline = time.monotonic() + 30
    while _open_slots(user_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _open_slots(user_id) == 0
    with client.stream("GET", url, headers=auth) as again:
        assert again.status_code == 200
    assert client.delete(f"/jobs/{accepted['job_id']}", headers=auth).status_code == 204
