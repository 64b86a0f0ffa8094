"""A camera's password goes into the runner's capture and nowhere else: not into any process's log,
any database row, any stream entry, the metrics or the API's answers, whether the camera works,
refuses the password, cannot be reached, stalls or dies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
import redis

from shared.ops.localstack import LocalStack, free_port
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.integration.camera_runners import (
    Stream,
    camera_row,
    registered_cameras,
    stack_runner_ready,
)
from tests.integration.conftest import db_fetch

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


USER = "camera-viewer"
# Distinctive, so that finding it anywhere is a leak; with characters that URLs encode.
PASSWORD = "Zq8-leak@check/7731"
WRONG_PASSWORD = "Wr0ng-leak@check/4410"
TABLES = ("cameras", "camera_events", "camera_runners", "webhook_deliveries", "webhook_attempts")


def forms(secret: str) -> list[bytes]:
    return [secret.encode(), quote(secret, safe="").encode()]


@pytest.fixture
def cameras(client: httpx.Client, auth: dict[str, str]) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, auth) as register:
        yield register


def rtsp_url(port: int, password: str) -> str:
    return f"rtsp://{USER}:{quote(password, safe='')}@127.0.0.1:{port}/cam"


def everything_written(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> dict[str, bytes]:
    """Where a password could end up, by name: logs, tables, the event stream, the camera's
    frames, the metrics and the API's answers."""
    found: dict[str, bytes] = {}
    for path in Path(stack.log_dir).rglob("*.log"):
        found[f"log {path.name}"] = path.read_bytes()
    for table in TABLES:
        rows = db_fetch(f"SELECT row_to_json(t)::text AS line FROM {table} t")  # noqa: S608
        found[f"table {table}"] = "\n".join(row["line"] for row in rows).encode()
    bus = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    entries: Any = bus.xrange(get_settings().events_stream)
    found["event stream"] = b"\n".join(v for _, fields in entries for v in fields.values())
    frames = b""
    for key in bus.scan_iter("vigil:camera:*:frame"):
        frame_entries: Any = bus.xrange(key)
        frames += b"".join(v for _, fields in frame_entries for v in fields.values())
    found["frames"] = frames
    metrics = httpx.get(
        f"{stack.base_url}/metrics",
        headers={"Authorization": f"Bearer {TEST_ENV['VIGIL_METRICS_TOKEN']}"},
        timeout=30,
    )
    assert metrics.status_code == 200
    found["metrics"] = metrics.content
    found["api cameras"] = client.get("/cameras", headers=auth).content
    return found


def test_camera_passwords_appear_nowhere(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    rtsp_camera_factory: Callable[..., RtspCamera],
    cameras: Callable[..., dict[str, Any]],
) -> None:
    stack_runner_ready(stack)
    source = rtsp_camera_factory(user=USER, password=PASSWORD, mounts=("cam",))
    working = cameras(rtsp_url(source.port, PASSWORD))
    refused = cameras(rtsp_url(source.port, WRONG_PASSWORD))
    unreachable = cameras(rtsp_url(free_port(), PASSWORD))
    stream = Stream(working["camera_uuid"])
    first = stream.wait(lambda e: e.type == "detection", "detection event", 20)
    for camera in (refused, unreachable):
        deadline = time.monotonic() + 20
        while camera_row(camera["camera_uuid"])["last_error"] is None:
            assert time.monotonic() < deadline, f"{camera['camera_id']} reported no error"
            time.sleep(0.2)
    print(f"\nrefused: {camera_row(refused['camera_uuid'])['last_error']}")

    source.stall()
    down = stream.wait(lambda e: e.is_status("reconnecting"), "a stall", 10, after=first)
    source.resume()
    up = stream.wait(lambda e: e.is_status("online"), "online again", 15, after=down)
    source.kill()
    stream.wait(lambda e: e.is_status("reconnecting"), "reconnecting after a kill", 10, after=up)
    time.sleep(2)  # a renewal writes the errors, the logs get the last lines

    leaks = {
        where: secret
        for where, text in everything_written(stack, client, auth).items()
        for secret in (PASSWORD, WRONG_PASSWORD)
        if any(form in text for form in forms(secret))
    }
    assert leaks == {}
    # The server's own log, for good measure: it was given the password by environment only.
    assert not any(form in source.log_path.read_bytes() for form in forms(PASSWORD))
