"""Two runners of the test's own (the stack's is stopped meanwhile) publishing to a Redis of
their own, so that it can be stopped: the stream stays bounded (MAXLEN), publishing rides out a
Redis outage with bounded and counted drops, and a camera whose runner freezes or dies moves to
the other runner under a higher generation, with nothing of the old generation published after
the new one's first event."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shared.ops.localstack import LocalStack
from tests.conftest import TEST_ENV
from tests.fixtures.redis_server import RedisServer
from tests.integration.camera_runners import (
    Entry,
    Stream,
    camera_row,
    capture_processes,
    own_runners,
    registered_cameras,
    validate,
)
from tests.integration.conftest import db_fetch, signup_and_signin

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


MAXLEN = 100
# Redis trims `MAXLEN ~` in whole macro nodes (100 entries by default), never below MAXLEN.
MAXLEN_BOUND = int(1.1 * MAXLEN) + 100
BUFFER_MAX = 50
OUTAGE_S = 12.0
FAILOVER_GOAL_S, FAILOVER_LIMIT_S = 10.0, 20.0


@pytest.fixture(scope="module")
def events_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runners(stack: LocalStack, events_redis: RedisServer) -> Iterator[LocalStack]:
    env = {
        "VIGIL_EVENTS_REDIS_URL": events_redis.url,
        "VIGIL_EVENTS_MAXLEN": str(MAXLEN),
        "VIGIL_EVENTS_BUFFER_MAX": str(BUFFER_MAX),
    }
    with own_runners(stack, env, count=2) as local:
        yield local


@pytest.fixture
def cameras(client: httpx.Client) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, signup_and_signin(client)) as register:
        yield register


def is_detection(entry: Entry) -> bool:
    return entry.type == "detection"


def test_the_stream_stays_bounded(
    runners: LocalStack,
    events_redis: RedisServer,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    two = [cameras(rtsp_camera.url("/cam")) for _ in range(2)]
    streams = [Stream(camera["camera_uuid"], events_redis.url) for camera in two]
    for stream in streams:
        stream.wait(is_detection, "detection event", 30)
    bus = redis.Redis.from_url(events_redis.url)
    longest = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        longest = max(longest, int(bus.xlen("stream:events")))
        for stream in streams:
            stream.read()
        time.sleep(0.1)
    published = sum(len(stream.entries) for stream in streams)
    print(f"\n{published} events published, the stream at most {longest} long (MAXLEN ~{MAXLEN})")
    assert published > 2 * MAXLEN
    assert longest <= MAXLEN_BOUND
    for stream in streams:
        for entry in stream.entries:
            validate(entry)


def test_publishing_rides_out_a_redis_outage(
    stack: LocalStack,
    runners: LocalStack,
    events_redis: RedisServer,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    camera = cameras(rtsp_camera.url("/cam"))
    stream = Stream(camera["camera_uuid"], events_redis.url)
    stream.wait(is_detection, "detection event", 30)

    stream.read()
    last = stream.entries[-1]
    events_redis.stop()
    down = time.time()
    time.sleep(OUTAGE_S / 2)
    during = camera_row(camera["camera_uuid"])
    time.sleep(OUTAGE_S / 2)
    events_redis.start()
    up = time.time()
    stream.last_id = "0-0"  # a fresh, empty Redis
    back = stream.wait(is_detection, "detection event after the outage", 15, after=last)
    print(f"\nRedis back → events again {back.added_at - up:.2f}s")
    time.sleep(3)  # a renewal writes the counts
    stream.read()
    after = camera_row(camera["camera_uuid"])["runtime"]

    # Analysis went on meanwhile, and the camera stayed online.
    assert during["state"] == "online"
    assert during["runtime"]["fps_analysed"] > 0
    # Of what was captured during the outage, the buffer kept the newest for later.
    kept = [e for e in stream.entries if down <= captured_at(e) <= up]
    print(
        f"outage {up - down:.1f}s: {after['events_dropped']} events dropped, {len(kept)} "
        "captured meanwhile published after it"
    )
    assert after["events_dropped"] > 0
    assert 0 < len(kept) <= BUFFER_MAX
    metrics = httpx.get(
        f"{stack.base_url}/metrics",
        headers={"Authorization": f"Bearer {TEST_ENV['VIGIL_METRICS_TOKEN']}"},
        timeout=30,
    )
    dropped = next(
        sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
        if sample.name == "vigil_events_dropped_total"
        and sample.labels["camera"] == camera["camera_uuid"]
    )
    assert dropped >= after["events_dropped"]


def captured_at(entry: Entry) -> float:
    return datetime.fromisoformat(entry.payload["timestamp"]).timestamp()


def _owner_pid(camera_uuid: str) -> tuple[str, int]:
    rows = db_fetch(
        "SELECT r.id, r.pid FROM cameras c JOIN camera_runners r ON r.id = c.runner_id"
        " WHERE c.id = $1::uuid",
        camera_uuid,
    )
    assert rows, "no runner holds the camera"
    return str(rows[0]["id"]), int(rows[0]["pid"])


def _taken_over(stream: Stream, old: Entry, what: str) -> tuple[Entry, Entry]:
    """The new generation's first event, and its first `online` status."""
    first = stream.wait(lambda e: e.generation > old.generation, what, FAILOVER_LIMIT_S)
    online = stream.wait(
        lambda e: e.generation == first.generation and e.is_status("online"),
        f"{what}: online",
        FAILOVER_LIMIT_S,
    )
    return first, online


def _no_stale_events(stream: Stream, first_new: Entry) -> None:
    stale = [
        (e.type, e.generation)
        for e in stream.entries
        if e.order > first_new.order and e.generation < first_new.generation
    ]
    assert stale == [], "an older generation published after the new one had"


def test_a_frozen_or_dead_runners_camera_moves_to_the_other_runner(
    runners: LocalStack,
    events_redis: RedisServer,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    camera = cameras(rtsp_camera.url("/cam"))
    stream = Stream(camera["camera_uuid"], events_redis.url)
    before = stream.wait(is_detection, "detection event", 30)

    # Frozen (a paused VM, say): the other runner takes the camera once the lease runs out,
    # and when the frozen one wakes up it publishes nothing more of its generation.
    frozen_id, frozen_pid = _owner_pid(camera["camera_uuid"])
    os.kill(frozen_pid, signal.SIGSTOP)
    froze = time.time()
    try:
        first, online = _taken_over(stream, before, "a takeover from a frozen runner")
    finally:
        os.kill(frozen_pid, signal.SIGCONT)
    print(f"\nrunner frozen → camera online elsewhere {online.added_at - froze:.2f}s")
    time.sleep(3)  # the woken runner's buffered events would come now
    stream.read()
    _no_stale_events(stream, first)
    assert not capture_processes(frozen_pid, rtsp_camera.port), "the woken runner still captures"
    survivor_id, survivor_pid = _owner_pid(camera["camera_uuid"])
    assert survivor_id != frozen_id

    # Dead: SIGKILL, no goodbye.
    os.kill(survivor_pid, signal.SIGKILL)
    killed = time.time()
    second, online = _taken_over(stream, first, "a takeover from a killed runner")
    print(f"runner killed → camera online elsewhere {online.added_at - killed:.2f}s")
    assert online.added_at - killed < FAILOVER_LIMIT_S
    time.sleep(2)
    stream.read()
    _no_stale_events(stream, second)
    assert _owner_pid(camera["camera_uuid"])[0] == frozen_id
    assert camera_row(camera["camera_uuid"])["generation"] == second.generation


def test_a_stopping_runner_hands_its_cameras_back(
    runners: LocalStack,
    events_redis: RedisServer,
    rtsp_camera: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    """SIGTERM (a deploy, a scale-down): the camera says `pending`, its lease is released at
    once rather than left to run out, and the runner's row is gone. (The last runner of this
    module: nobody takes the camera over.)"""
    camera = cameras(rtsp_camera.url("/cam"))
    stream = Stream(camera["camera_uuid"], events_redis.url)
    held = stream.wait(is_detection, "detection event", 30)
    runner_id, pid = _owner_pid(camera["camera_uuid"])
    name = next(name for name, p in runners.processes.items() if p.pid == pid)
    runners.stop_process(name)

    pending = stream.wait(lambda e: e.is_status("pending"), "pending status", 5, after=held)
    assert pending.payload["reason"] == "its runner is stopping"
    assert pending.generation == held.generation
    row = camera_row(camera["camera_uuid"])
    assert (row["state"], row["runner_id"], row["lease_until"]) == ("pending", None, None)
    assert not db_fetch("SELECT 1 FROM camera_runners WHERE id = $1", runner_id)
