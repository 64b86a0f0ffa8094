"""Faults under real jobs (the quick variants of `make chaos`): a stack of its own on a Redis
server of its own, so the broker can be restarted and the worker killed without touching the
shared services or the other tests' stack. Every accepted job must complete once with all its
frames, every job.completed webhook must arrive once, and the API must answer (503, not 500 and
not a hang) while a dependency is down, then recover within 10 s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.chaos.infra import RedisServer, WebhookReceiver
from bench.chaos.run import Harness, Result, stack_env, table
from shared.ops.localstack import LocalStack, free_port
from shared.ops.migrate import migrate
from tests.conftest import RUN_DIR, SHARED_DIR, TEST_DB
from tests.integration.conftest import _drop_database
from tests.media import BUS

DB_NAME = f"{TEST_DB}_faults"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    base = RUN_DIR / "faults"
    redis = RedisServer(free_port(), base / "redis.log")
    receiver = WebhookReceiver(free_port())
    redis.start()
    receiver.up()
    stack = LocalStack(
        stack_env(redis.url(), DATABASE_URL, base / "storage", SHARED_DIR / "models"),
        base / "logs",
    )
    chaos = Harness(
        stack=stack,
        database_url=DATABASE_URL,
        redis=redis,
        receiver=receiver,
        upload_image=BUS,
        settle_s=150,
    )
    try:
        asyncio.run(migrate(DATABASE_URL))
        stack.start_worker()
        stack.start_webhook_worker()
        stack.start_beat()
        stack.start_api()
        stack.wait_ready(timeout_s=180)
        chaos.sign_up()
        baseline = chaos.baseline(jobs=1, max_frames=10)
        assert baseline.passed, table([baseline])
        yield chaos
    finally:
        chaos.stop_probes()
        stack.stop()
        receiver.down()
        redis.stop()
        asyncio.run(_drop_database(DB_NAME))


def assert_survived(result: Result) -> None:
    assert result.passed, f"see {RUN_DIR / 'faults' / 'logs'}\n{table([result])}"


def test_worker_killed_under_concurrent_jobs(harness: Harness) -> None:
    # Whole short videos: the kill, as soon as the first has five frames, lands mid-job.
    result = harness.worker_killed(jobs=4, max_frames=45)
    assert_survived(result)
    # Every job the kill interrupted was run again, over its own frames.
    assert result.interrupted >= 1, result
    assert result.reruns >= result.interrupted, result


def test_redis_restarted_mid_video(harness: Harness) -> None:
    result = harness.redis_restart(outage_s=3, jobs=2, max_frames=30)
    assert_survived(result)
    assert sum(result.answers.values()) > 0, "the API was not probed during the outage"
