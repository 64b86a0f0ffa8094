"""Camera runners when things go wrong, against the stack's Postgres and Redis (its own runner
stopped meanwhile): runners in this process (so that a fault can be set where no outside event
reaches: a table lock, a failing query, a dying thread) and, for a runner that dies, a real one
killed with SIGKILL.

- A camera whose opening is slow (its owner's watchlist locked) keeps its lease and holds up no
  other claim; one that cannot be opened in time goes to `error`.
- Cameras lost for a reason the table cannot tell (the query fails) are stopped all the same.
- Metrics written to a Redis that hangs delay no renewal.
- A record of a generation older than the camera's is not written (nor its webhook).
- A dead runner's camera says `pending` again, with camera.offline, when no runner takes it.
- Deactivating an owner stops their cameras within seconds, and nobody claims them until the
  owner is back.
- A runner whose thread died releases its cameras and exits with status 1."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import httpx
import pytest
import redis
from tortoise import Tortoise, connections

from shared.cameras.events import STATUS
from shared.db.config import tortoise_config
from shared.db.enums import CameraState
from shared.metrics import MetricsStore
from shared.ops.localstack import LocalStack
from shared.repositories import camera_leases as leases
from shared.settings import Settings
from tests.conftest import REPO_ROOT, RUN_DIR, TEST_ENV
from tests.integration.camera_runners import (
    Stream,
    capture_processes,
    own_runners,
    registered_cameras,
    wait_runner_ready,
)
from tests.integration.conftest import db_fetch, signup_and_signin
from worker.cameras import runner as runner_module
from worker.cameras.camera import LiveCamera
from worker.cameras.events import new_event, status_body
from worker.cameras.records import record_status
from worker.cameras.redaction import RedactingFilter
from worker.cameras.runner import Runner
from worker.cameras.status import StatusChange

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera

T = TypeVar("T")

LEASE_S, RENEW_S = 4.0, 1.0
# Nothing listens there: a capture that fails and is retried, at no cost.
NOWHERE = "rtsp://127.0.0.1:9/none"
DSN = TEST_ENV["VIGIL_DATABASE_URL"].replace("postgres://", "postgresql://")
MOTION_ONLY = {"enable_object_detection": False, "detect_fps": 2}


@pytest.fixture(scope="module")
def quiet(stack: LocalStack) -> Iterator[LocalStack]:
    """The stack's runner is stopped while these tests run: it would claim their cameras. So
    are the cameras other tests left active: they would take these runners' room."""
    with own_runners(stack, {}, count=0):
        parked = db_fetch(
            "UPDATE cameras SET desired_state = 'inactive' WHERE desired_state = 'active'"
            " RETURNING id"
        )
        try:
            yield stack
        finally:
            db_fetch(
                "UPDATE cameras SET desired_state = 'active' WHERE id = ANY($1::uuid[])",
                [row["id"] for row in parked],
            )


@pytest.fixture
def owner(quiet: LocalStack, client: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    return email, signup_and_signin(client, email)


@pytest.fixture
def cameras(
    client: httpx.Client, owner: tuple[str, dict[str, str]]
) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, owner[1]) as register:
        yield register


def settings(lease_s: float = LEASE_S, renew_s: float = RENEW_S) -> Settings:
    return Settings(camera_lease_s=lease_s, camera_renew_interval_s=renew_s)


@asynccontextmanager
async def database(command_timeout_s: float = LEASE_S) -> AsyncIterator[None]:
    """The ORM as the runner's process sets it up (`command_timeout_s`: its statement bound)."""
    config = tortoise_config(command_timeout_s=command_timeout_s)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def serving(
    config: Settings, capacity: int = 4, health_file: Path | None = None
) -> AsyncIterator[Runner]:
    """A runner in this process (without the models' warm-up: these cameras analyse motion at
    most), stopped as on SIGTERM afterwards."""
    runner = Runner(
        config, capacity=capacity, log_filter=RedactingFilter(), health_file=health_file
    )
    task = asyncio.create_task(runner.serve())
    try:
        yield runner
    finally:
        runner.stop()
        await task


async def until(check: Callable[[], T | None], what: str, timeout_s: float = 10.0) -> T:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {timeout_s}s"
        await asyncio.sleep(0.02)
    return found


async def row(camera_uuid: str) -> dict[str, Any]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT * FROM cameras WHERE id = $1::uuid", [camera_uuid]
    )
    assert rows, f"camera {camera_uuid} is gone"
    return dict(rows[0])


async def status_records(camera_uuid: str) -> list[dict[str, Any]]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT event_id, generation, payload FROM camera_events"
        " WHERE camera_uuid = $1::uuid AND type = 'status' ORDER BY timestamp",
        [camera_uuid],
    )
    return [
        {
            **r,
            "payload": json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"],
        }
        for r in rows
    ]


async def deliveries(endpoint_id: str) -> list[dict[str, Any]]:
    return list(
        await connections.get("default").execute_query_dict(
            "SELECT event_type, payload::text AS payload FROM webhook_deliveries"
            " WHERE endpoint_id = $1::uuid",
            [endpoint_id],
        )
    )


def held_by(runner: Runner, camera: dict[str, Any]) -> LiveCamera | None:
    return runner.cameras.get(uuid.UUID(camera["camera_uuid"]))


def hook(client: httpx.Client, headers: dict[str, str], *event_types: str) -> str:
    made = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": list(event_types)},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@asynccontextmanager
async def watchlist_locked() -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The owners' watchlists locked, as a long migration would: opening a camera that reads
    plates waits. Yields `release`."""
    conn = await asyncpg.connect(DSN)
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("LOCK TABLE watchlist_entries IN ACCESS EXCLUSIVE MODE")
    released = False

    async def release() -> None:
        nonlocal released
        if not released:
            released = True
            await transaction.rollback()

    try:
        yield release
    finally:
        await release()
        await conn.close()


def test_a_slow_opening_camera_keeps_its_lease_and_holds_up_no_other_claim(
    cameras: Callable[..., dict[str, Any]],
) -> None:
    slow = cameras(NOWHERE, enable_anpr=True)  # claimed first: registered first
    quick = cameras(NOWHERE)

    async def scenario() -> None:
        # Statements wait as long as the lock is held: the opening is slow, not failed.
        async with (
            database(command_timeout_s=60),
            watchlist_locked() as release,
            serving(settings()) as runner,
        ):
            opening = await until(lambda: held_by(runner, slow), "claim")
            claimed_at = time.monotonic()
            started = await until(
                lambda: (c := held_by(runner, quick)) is not None and c.feed is not None,
                "start of the other camera while the first one opens",
                timeout_s=3.0,
            )
            assert started
            assert opening.feed is None, "the slow camera opened already: nothing tested"
            # Longer than the lease: only renewals can have kept it.
            await asyncio.sleep(LEASE_S + 2.0 - (time.monotonic() - claimed_at))
            assert held_by(runner, slow) is opening
            await release()
            await until(lambda: opening.feed is not None, "start once the lock is gone")
            await asyncio.sleep(2 * RENEW_S)
            assert held_by(runner, slow) is opening
            assert opening.held
            after = await row(slow["camera_uuid"])
            assert after["generation"] == opening.claimed.generation, "claimed again"
            assert after["runner_id"] == runner.info.id
            assert after["state"] != "error"
            states = [r["payload"]["state"] for r in await status_records(slow["camera_uuid"])]
            assert states.count("starting") == 1, states
            assert "stopped" not in states

    asyncio.run(scenario())


def test_a_camera_that_cannot_be_opened_in_time_goes_to_error(
    cameras: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "OPEN_TIMEOUT_S", 2.0)
    stuck = cameras(NOWHERE, enable_anpr=True)

    async def scenario() -> None:
        async with (
            database(command_timeout_s=60),
            watchlist_locked() as release,
            serving(settings()) as runner,
        ):
            held = await until(lambda: held_by(runner, stuck), "claim")
            await until(lambda: held.status.state is CameraState.ERROR, "error", 6.0)
            await asyncio.sleep(2 * RENEW_S)  # the renewals write it
            failed = await row(stuck["camera_uuid"])
            assert failed["state"] == "error"
            assert failed["last_error"] == "could not open the camera: TimeoutError"
            assert failed["runner_id"] == runner.info.id
            await release()
            # Its lease is kept (no runner loops on it) and nothing starts later on.
            await asyncio.sleep(LEASE_S)
            assert held_by(runner, stuck) is held
            assert held.feed is None
            assert (await row(stuck["camera_uuid"]))["generation"] == held.claimed.generation
            records = await status_records(stuck["camera_uuid"])
            assert [r["payload"]["state"] for r in records] == ["starting", "error"]

    asyncio.run(scenario())


def test_cameras_lost_for_a_reason_that_cannot_be_told_are_stopped_all_the_same(
    client: httpx.Client,
    owner: tuple[str, dict[str, str]],
    cameras: Callable[..., dict[str, Any]],
    rtsp_camera: RtspCamera,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    camera = cameras(rtsp_camera.url("/cam"), **MOTION_ONLY)

    async def why_lost_fails(runner_id: str, ids: Any) -> Any:
        raise ConnectionError("the database went away")

    def deactivate() -> None:
        response = client.patch(
            f"/cameras/{camera['camera_id']}", json={"status": "inactive"}, headers=owner[1]
        )
        assert response.status_code == 200, response.text

    async def scenario() -> None:
        async with database(), serving(settings()) as runner:
            held = await until(lambda: held_by(runner, camera), "claim")
            await until(
                lambda: capture_processes(runner.info.pid, rtsp_camera.port), "capture", 15.0
            )
            monkeypatch.setattr(leases, "why_lost", why_lost_fails)
            await asyncio.to_thread(deactivate)
            await until(
                lambda: not capture_processes(runner.info.pid, rtsp_camera.port),
                "end of the lost camera's capture",
                RENEW_S + 5.0,
            )
            assert held_by(runner, camera) is None
            assert held.feed is None
            assert not held.held

    asyncio.run(scenario())


def test_metrics_written_to_a_hung_redis_delay_no_renewal(
    cameras: Callable[..., dict[str, Any]],
) -> None:
    """Its metrics Redis accepts connections and never answers (each write waits out the
    client's timeouts); the lease, 3.5 s renewed every second, must not notice."""
    camera = cameras(NOWHERE)

    async def scenario(port: int) -> None:
        async with database(), serving(settings(lease_s=3.5)) as runner:
            hung = redis.Redis(
                port=port,
                socket_timeout=runner_module.REDIS_TIMEOUT_S,
                socket_connect_timeout=runner_module.REDIS_TIMEOUT_S,
            )
            runner.metrics = MetricsStore(hung)
            held = await until(lambda: held_by(runner, camera), "claim")
            await asyncio.sleep(8.0)
            assert held_by(runner, camera) is held, "the camera was let go"
            assert held.held
            assert (await row(camera["camera_uuid"]))["generation"] == held.claimed.generation

    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(128)
        asyncio.run(scenario(hole.getsockname()[1]))


def test_an_older_generation_records_nothing(
    client: httpx.Client,
    owner: tuple[str, dict[str, str]],
    cameras: Callable[..., dict[str, Any]],
) -> None:
    """A camera changed while its old copy still runs: the old copy's state change is neither
    kept nor sent; its farewell is; the new generation's changes are."""
    endpoint = hook(client, owner[1], "camera.online")
    camera = cameras(NOWHERE)
    runner_id = f"test-{uuid.uuid4().hex[:6]}"

    def online(held: LiveCamera, *, farewell: bool = False) -> tuple[StatusChange, Any]:
        now = time.time()
        state = CameraState.STOPPED if farewell else CameraState.ONLINE
        change = StatusChange(state, CameraState.STARTING, "first frame", now)
        body = status_body(state.value, CameraState.STARTING.value, change.reason, runner_id)
        return change, new_event(held.ref, STATUS, now, body, held.tally, farewell=farewell)

    def rename() -> None:
        response = client.patch(
            f"/cameras/{camera['camera_id']}", json={"parameters": MOTION_ONLY}, headers=owner[1]
        )
        assert response.status_code == 200, response.text

    async def scenario() -> None:
        async with database():
            claimed = await leases.claim(runner_id, 60)
            assert claimed is not None
            assert str(claimed.id) == camera["camera_uuid"]
            old = LiveCamera.claimed_now(claimed)
            await asyncio.to_thread(rename)  # a new generation; the old copy still holds on
            change, stale = online(old)
            await record_status(old, change, stale)
            change, farewell = online(old, farewell=True)
            await record_status(old, change, farewell)

            claimed = await leases.claim(runner_id, 60)
            assert claimed is not None
            assert claimed.generation > old.claimed.generation
            new = LiveCamera.claimed_now(claimed)
            change, current = online(new)
            await record_status(new, change, current)

            kept = {str(r["event_id"]) for r in await status_records(camera["camera_uuid"])}
            assert str(stale.event_id) not in kept
            assert {str(farewell.event_id), str(current.event_id)} <= kept
            sent = await deliveries(endpoint)
            assert [d["event_type"] for d in sent] == ["camera.online"]
            assert str(current.event_id) in sent[0]["payload"]
            await leases.release(runner_id, [(claimed.id, claimed.generation)])

    asyncio.run(scenario())


def test_a_dead_runners_camera_says_pending_and_goes_offline(
    client: httpx.Client,
    owner: tuple[str, dict[str, str]],
    cameras: Callable[..., dict[str, Any]],
    rtsp_camera: RtspCamera,
) -> None:
    """The runner here is full, so nobody takes the camera over: without the sweep it would
    read `online` for ever."""
    endpoint = hook(client, owner[1], "camera.offline")
    blocker = cameras(NOWHERE)
    env = {"VIGIL_CAMERA_LEASE_S": str(LEASE_S), "VIGIL_CAMERA_RENEW_INTERVAL_S": str(RENEW_S)}
    doomed = LocalStack(env, RUN_DIR / f"doomed-{uuid.uuid4().hex[:6]}")

    async def scenario() -> None:
        async with database(), serving(settings(), capacity=1) as runner:
            await until(lambda: held_by(runner, blocker), "claim of the blocker")
            doomed.start_cameras("doomed", capacity=1)
            await asyncio.to_thread(wait_runner_ready, doomed.processes["doomed"])
            victim = await asyncio.to_thread(cameras, rtsp_camera.url("/cam"), **MOTION_ONLY)
            stream = Stream(victim["camera_uuid"])
            up = await asyncio.to_thread(
                stream.wait, lambda e: e.is_status("online"), "online status", 30.0
            )
            doomed.stop_process("doomed", signal.SIGKILL)
            killed = time.time()
            pending = await asyncio.to_thread(
                stream.wait,
                lambda e: e.is_status("pending"),
                "pending status",
                LEASE_S + runner_module.SWEEP_AFTER_S + 10.0,
                up,
            )
            print(f"\nrunner killed → pending {pending.added_at - killed:.2f}s")
            assert pending.payload["previous"] == "online"
            assert pending.payload["runner"] == runner.info.id
            assert pending.generation == up.generation
            after = await row(victim["camera_uuid"])
            assert (after["state"], after["runner_id"]) == ("pending", None)
            assert held_by(runner, victim) is None
            await asyncio.sleep(1.0)  # the record is written by a task
            kept = await status_records(victim["camera_uuid"])
            assert str(kept[-1]["event_id"]) == pending.fields["event_id"]
            sent = await deliveries(endpoint)
            assert [d["event_type"] for d in sent] == ["camera.offline"]
            assert victim["camera_uuid"] in sent[0]["payload"]

    try:
        asyncio.run(scenario())
    finally:
        doomed.stop()


def admin(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.admin", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_deactivating_the_owner_stops_their_cameras_within_seconds(
    owner: tuple[str, dict[str, str]], cameras: Callable[..., dict[str, Any]]
) -> None:
    """Renewals here come every 10 s: only the nudge makes it this quick."""
    email = owner[0]
    camera = cameras(NOWHERE)
    config = settings(lease_s=30.0, renew_s=10.0)

    async def scenario() -> None:
        async with database(config.camera_lease_s), serving(config) as runner:
            held = await until(lambda: held_by(runner, camera), "claim")
            await until(lambda: held.feed is not None, "start")
            await asyncio.to_thread(admin, "disable-user", email)
            disabled = time.monotonic()
            await until(lambda: held_by(runner, camera) is None, "stop", 5.0)
            print(f"\nowner disabled → camera stopped {time.monotonic() - disabled:.2f}s")
            assert held.feed is None
            await asyncio.sleep(2.0)  # claims come every second: none takes it
            stopped = await row(camera["camera_uuid"])
            assert (stopped["state"], stopped["runner_id"]) == ("stopped", None)
            assert held_by(runner, camera) is None
            farewell = (await status_records(camera["camera_uuid"]))[-1]["payload"]
            assert (farewell["state"], farewell["reason"]) == ("stopped", "owner deactivated")

            await asyncio.to_thread(admin, "enable-user", email)
            back = await until(lambda: held_by(runner, camera), "claim once back", 5.0)
            assert back.claimed.generation > held.claimed.generation

    try:
        asyncio.run(scenario())
    finally:
        admin("enable-user", email)  # so that the camera can be deleted


# The thread's death is the point: pytest would report it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_runner_whose_thread_died_releases_its_cameras_and_exits_with_status_1(
    cameras: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    camera = cameras(NOWHERE)
    health = tmp_path / "healthy"

    def broken_viewer_check(cameras: Any) -> Any:
        raise RuntimeError("a bug in the snapshot writer")

    async def scenario() -> None:
        async with database():
            runner = Runner(
                settings(), capacity=2, log_filter=RedactingFilter(), health_file=health
            )
            task = asyncio.create_task(runner.serve())
            await until(lambda: held_by(runner, camera), "claim")
            await until(health.exists, "health file")
            runner.snapshots._check_viewers = broken_viewer_check  # type: ignore[method-assign]
            await until(lambda: not runner.snapshots.is_alive(), "death of the thread", 5.0)
            died = time.time()
            await asyncio.wait_for(task, 15.0)
            assert runner.exit_status == 1
            assert health.stat().st_mtime <= died, "the health file was touched after the death"
            released = await row(camera["camera_uuid"])
            assert (released["state"], released["runner_id"]) == ("pending", None)
            gone = await connections.get("default").execute_query_dict(
                "SELECT 1 FROM camera_runners WHERE id = $1", [runner.info.id]
            )
            assert gone == []

    asyncio.run(scenario())
