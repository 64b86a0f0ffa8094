"""The senders' concurrency limits (F-17), counted in the test Redis: per endpoint and per owner,
all or none, released by their holder only, and lapsing when a sender dies holding one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from shared.webhooks import slots
from tests.conftest import TEST_ENV


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    yield connection
    connection.close()


def test_an_endpoint_and_an_owner_each_hold_at_most_their_limit(client: redis.Redis) -> None:
    owner, endpoint, other_endpoint = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    to_endpoint = slots.limits(owner, endpoint, per_owner=3, per_endpoint=2)
    first = slots.acquire(client, to_endpoint, 60)
    second = slots.acquire(client, to_endpoint, 60)
    assert first is not None
    assert second is not None
    assert slots.acquire(client, to_endpoint, 60) is None
    # The owner has one left, for another endpoint; then none, whatever the endpoint.
    to_other = slots.limits(owner, other_endpoint, per_owner=3, per_endpoint=2)
    assert slots.acquire(client, to_other, 60) is not None
    assert slots.acquire(client, to_other, 60) is None
    callbacks = slots.limits(owner, None, per_owner=3, per_endpoint=2)
    assert slots.acquire(client, callbacks, 60) is None
    # A refusal takes nothing: another owner's attempt still gets through.
    assert slots.acquire(client, slots.limits(uuid.uuid4(), None, 1, 1), 60) is not None

    slots.release(client, first)
    assert slots.acquire(client, to_endpoint, 60) is not None


def test_a_slot_lapses_at_the_end_of_its_lease(client: redis.Redis) -> None:
    wanted = slots.limits(uuid.uuid4(), uuid.uuid4(), per_owner=1, per_endpoint=1)
    assert slots.acquire(client, wanted, 0.2) is not None
    assert slots.acquire(client, wanted, 0.2) is None
    time.sleep(0.3)
    assert slots.acquire(client, wanted, 0.2) is not None


def test_releasing_frees_only_the_holder_s_slot(client: redis.Redis) -> None:
    wanted = slots.limits(uuid.uuid4(), uuid.uuid4(), per_owner=2, per_endpoint=2)
    held = slots.acquire(client, wanted, 60)
    other = slots.acquire(client, wanted, 60)
    assert held is not None
    assert other is not None
    slots.release(client, held)
    slots.release(client, held)  # twice, as two messages for one delivery might
    assert slots.acquire(client, wanted, 60) is not None
    assert slots.acquire(client, wanted, 60) is None


def test_deferrals_are_counted_until_forgotten(client: redis.Redis) -> None:
    delivery = uuid.uuid4()
    assert [slots.count_deferral(client, delivery, 60) for _ in range(3)] == [1, 2, 3]
    slots.forget_deferrals(client, delivery)
    assert slots.count_deferral(client, delivery, 60) == 1
