"""Publishing camera events against the test Redis: the bounded buffer drops the oldest and
counts them, the publisher refuses what its gate refuses, and the generation fence in Redis
keeps an older generation from publishing after a newer one has; one camera's unpublishable
events never stop the others'."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.conftest import TEST_ENV
from worker.cameras.events import BusEvent, CameraRef, EventTally, new_event
from worker.cameras.publisher import (
    PUBLISH_FAILURES_TOLERATED,
    BusStats,
    EventBuffer,
    Publisher,
    fence_key,
)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    yield connection
    connection.close()


@pytest.fixture
def stream(client: redis.Redis) -> Iterator[str]:
    name = f"test:camera-events:{uuid.uuid4().hex}"
    yield name
    client.delete(name)


def event(ref: CameraRef, tally: EventTally, number: int = 0) -> BusEvent:
    return new_event(ref, "motion", time.time(), {"number": number}, tally)


def publisher(
    client: redis.Redis, stream: str, buffer: EventBuffer, *, maxlen: int = 1000, gate: bool = True
) -> Publisher:
    return Publisher(
        buffer, client, stream=stream, maxlen=maxlen, data_field=False, gate=lambda _: gate
    )


def published(client: redis.Redis, stream: str) -> list[tuple[int, int]]:
    """(generation, number) of each entry, in order."""
    entries: Any = client.xrange(stream)
    return [
        (int(fields[b"generation"]), json.loads(fields[b"payload"])["number"])
        for _, fields in entries
    ]


def drain(publisher: Publisher) -> None:
    publisher.start()
    publisher.stop(drain_s=5.0)


def test_a_full_buffer_drops_its_oldest_and_counts_them() -> None:
    stats = BusStats()
    buffer = EventBuffer(3, stats)
    tally = EventTally()
    ref = CameraRef(uuid.uuid4(), "cam", uuid.uuid4(), 1)
    events = [event(ref, tally, n) for n in range(5)]
    for item in events:
        buffer.put(item)
    assert buffer.take(10, 0.0) == events[2:]
    buffer.put_back(events[:2])  # a failed batch comes back as the oldest, within the bound
    buffer.put(events[2])
    assert len(buffer) == 3
    assert tally.totals() == (0, 2)
    assert stats.take().dropped == {str(ref.camera_uuid): 2}


def test_events_go_out_in_order_with_the_stream_bounded(client: redis.Redis, stream: str) -> None:
    buffer = EventBuffer(1000, BusStats())
    tally = EventTally()
    ref = CameraRef(uuid.uuid4(), "cam", uuid.uuid4(), 1)
    for number in range(450):
        buffer.put(event(ref, tally, number))
    drain(publisher(client, stream, buffer, maxlen=100))
    numbers = [number for _, number in published(client, stream)]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 449
    # MAXLEN ~ trims whole macro nodes (100 entries): never below 100, less than 200 over.
    assert 100 <= len(numbers) < 200
    assert tally.totals() == (450, 0)
    client.delete(fence_key(ref.camera_uuid))


def test_the_gate_holds_back_what_is_no_longer_held(client: redis.Redis, stream: str) -> None:
    buffer = EventBuffer(10, BusStats())
    buffer.put(event(CameraRef(uuid.uuid4(), "cam", uuid.uuid4(), 1), EventTally()))
    drain(publisher(client, stream, buffer, gate=False))
    assert client.xlen(stream) == 0
    assert buffer.stats.take().fenced == 1


def test_an_older_generation_cannot_follow_a_newer_one(client: redis.Redis, stream: str) -> None:
    camera = uuid.uuid4()
    old, new = (CameraRef(camera, "cam", uuid.uuid4(), g) for g in (4, 5))
    tally = EventTally()
    buffer = EventBuffer(10, BusStats())
    for ref, number in ((old, 1), (new, 2), (old, 3), (new, 4)):
        buffer.put(event(ref, tally, number))
    drain(publisher(client, stream, buffer))
    assert published(client, stream) == [(4, 1), (5, 2), (5, 4)]
    assert buffer.stats.take().fenced == 1
    assert int(client.get(fence_key(camera)) or 0) == 5
    assert int(client.ttl(fence_key(camera))) > 0
    client.delete(fence_key(camera))


def test_a_camera_whose_events_cannot_be_published_is_reported_and_the_rest_go_out(
    client: redis.Redis, stream: str
) -> None:
    """A payload that does not serialise (a bug's doing) is dropped and counted on its camera;
    the thread goes on publishing the other cameras' events, and after a few such events in a
    row the camera is reported as broken."""
    good, bad = (CameraRef(uuid.uuid4(), name, uuid.uuid4(), 1) for name in ("good", "bad"))
    tallies = {good: EventTally(), bad: EventTally()}
    buffer = EventBuffer(100, BusStats())
    for number in range(PUBLISH_FAILURES_TOLERATED + 2):
        buffer.put(event(good, tallies[good], number))
        broken_event = new_event(bad, "motion", time.time(), {"number": object()}, tallies[bad])
        buffer.put(broken_event)
    reported: list[tuple[str, str]] = []
    thread = Publisher(
        buffer,
        client,
        stream=stream,
        maxlen=1000,
        data_field=False,
        gate=lambda _: True,
        broken=lambda event, reason: reported.append((event.ref.camera_id, reason)),
    )
    drain(thread)
    assert not thread.is_alive()
    assert [number for _, number in published(client, stream)] == list(
        range(PUBLISH_FAILURES_TOLERATED + 2)
    )
    assert tallies[bad].totals() == (0, PUBLISH_FAILURES_TOLERATED + 2)
    assert len(reported) == 1
    assert reported[0][0] == "bad"
    assert "TypeError" in reported[0][1]
    assert buffer.stats.take().dropped == {str(bad.camera_uuid): PUBLISH_FAILURES_TOLERATED + 2}
    client.delete(fence_key(good.camera_uuid))
