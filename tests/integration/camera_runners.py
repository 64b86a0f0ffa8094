"""What the camera runner tests share: cameras registered through the API (and deleted after the
test), the event stream read as a consumer reads it, runner processes of a test's own, and the
JSON Schemas every event must satisfy."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import psutil
import redis

from shared.cameras.events import frame_key
from shared.ops.localstack import LocalStack
from shared.settings import get_settings
from tests.conftest import REPO_ROOT, RUN_DIR, TEST_ENV
from tests.integration.conftest import db_fetch

SCHEMAS = REPO_ROOT / "shared" / "cameras" / "schemas"
# Runners load their models before they register: a while on a busy 2-core machine.
RUNNER_READY_S = 120.0
# What the cameras of these tests analyse unless a test says otherwise: a zone over the road
# and a line across it, so that timeline events come too.
ROAD_PARAMS: dict[str, Any] = {
    "zones": [
        {"name": "road", "polygon": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]], "loiter_seconds": 1}
    ],
    "lines": [{"name": "middle", "start": [0.5, 0], "end": [0.5, 1]}],
    "stall_timeout_s": 3,
}


@dataclass(frozen=True)
class Entry:
    """One stream entry as a consumer sees it."""

    id: str
    fields: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.fields["payload"])
        return loaded

    @property
    def type(self) -> str:
        return self.fields["event_type"]

    @property
    def generation(self) -> int:
        return int(self.fields["generation"])

    @property
    def order(self) -> tuple[int, int]:
        milliseconds, sequence = self.id.split("-")
        return int(milliseconds), int(sequence)

    @property
    def added_at(self) -> float:
        """When Redis added it (the entry id's milliseconds), Unix time."""
        return int(self.id.split("-")[0]) / 1000

    def is_status(self, state: str) -> bool:
        return self.type == "status" and self.payload["state"] == state


class Stream:
    """The entries of one camera on an event stream, from when this was made on."""

    def __init__(
        self,
        camera_uuid: str,
        url: str = TEST_ENV["VIGIL_REDIS_URL"],
        stream: str | None = None,
    ) -> None:
        self.camera_uuid = camera_uuid
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.stream = stream or get_settings().events_stream
        self.last_id = f"{int(time.time() * 1000) - 1}-0"
        self.entries: list[Entry] = []

    def read(self) -> list[Entry]:
        """The camera's entries added since the last read."""
        raw: Any = self.client.xrange(self.stream, f"({self.last_id}", "+")
        new = []
        for entry_id, fields in raw:
            self.last_id = entry_id
            if fields.get("camera_uuid") == self.camera_uuid:
                new.append(Entry(entry_id, fields))
        self.entries += new
        return new

    def wait(
        self,
        check: Callable[[Entry], bool],
        what: str,
        timeout_s: float = 30.0,
        after: Entry | None = None,
    ) -> Entry:
        """The first entry that passes `check` (after `after`, when given), read by now or
        within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.read()
            found = next(
                (e for e in self.entries if (after is None or e.order > after.order) and check(e)),
                None,
            )
            if found is not None:
                return found
            if time.monotonic() > deadline:
                kinds = [(e.type, e.payload.get("state")) for e in self.entries[-10:]]
                raise AssertionError(f"no {what} within {timeout_s}s; last entries: {kinds}")
            time.sleep(0.05)


def register(
    client: httpx.Client, headers: dict[str, str], stream_url: str, **parameters: Any
) -> dict[str, Any]:
    body = {
        "camera_id": f"cam-{uuid.uuid4().hex[:8]}",
        "stream_url": stream_url,
        "parameters": {**ROAD_PARAMS, **parameters},
    }
    response = client.post("/cameras", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def delete(client: httpx.Client, headers: dict[str, str], camera: dict[str, Any]) -> None:
    response = client.delete(f"/cameras/{camera['camera_id']}", headers=headers)
    assert response.status_code in (204, 404), response.text


@contextmanager
def registered_cameras(
    client: httpx.Client, headers: dict[str, str]
) -> Iterator[Callable[..., dict[str, Any]]]:
    """register(stream_url, **parameters) → a camera of `headers`' user, deleted afterwards
    (a camera left active would keep a runner busy for the rest of the suite)."""
    made: list[dict[str, Any]] = []

    def make(stream_url: str, **parameters: Any) -> dict[str, Any]:
        made.append(register(client, headers, stream_url, **parameters))
        return made[-1]

    try:
        yield make
    finally:
        for camera in made:
            delete(client, headers, camera)


def camera_row(camera_uuid: str) -> dict[str, Any]:
    rows = db_fetch("SELECT * FROM cameras WHERE id = $1::uuid", camera_uuid)
    assert rows, f"camera {camera_uuid} is gone"
    row = dict(rows[0])
    row["runtime"] = (
        json.loads(row["runtime"]) if isinstance(row["runtime"], str) else row["runtime"]
    )
    return row


def wait_runner_ready(process: subprocess.Popen[bytes], timeout_s: float = RUNNER_READY_S) -> str:
    """The runner id of the process once it has registered (its models loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the camera runner exited with {process.returncode}")
        rows = db_fetch("SELECT id FROM camera_runners WHERE pid = $1", process.pid)
        if rows:
            return str(rows[0]["id"])
        time.sleep(0.2)
    raise TimeoutError(f"the camera runner was not up after {timeout_s}s")


@contextmanager
def own_runners(
    stack: LocalStack, env: dict[str, str], count: int, capacity: int | None = None
) -> Iterator[LocalStack]:
    """`count` runners of the test's own, with `env` over the test settings, while the stack's
    runner is stopped (it would claim the test's cameras); the stack's runner is started again
    afterwards."""
    stack.stop_process("cameras")
    local = LocalStack(env, RUN_DIR / f"cameras-{uuid.uuid4().hex[:6]}")
    try:
        for number in range(count):
            local.start_cameras(f"cameras-{number}", capacity)
        for process in list(local.processes.values()):
            wait_runner_ready(process)
        yield local
    finally:
        local.stop()
        stack.start_cameras()


def stack_runner_ready(stack: LocalStack) -> str:
    return wait_runner_ready(stack.processes["cameras"])


@cache
def _validators() -> dict[str, jsonschema.protocols.Validator]:
    validators: dict[str, jsonschema.protocols.Validator] = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validators[path.stem] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validators


def validate(entry: Entry) -> None:
    """The entry against the envelope's schema, its payload against its type's."""
    validators = _validators()
    validators["envelope"].validate(entry.fields)
    validators[entry.type].validate(entry.payload)
    assert entry.payload["event_id"] == entry.fields["event_id"]
    assert entry.payload["generation"] == entry.generation
    if "data" in entry.fields:
        assert entry.fields["data"] == entry.fields["payload"]


def capture_processes(runner_pid: int, port: int) -> list[psutil.Process]:
    """The runner's child processes connected to the RTSP server on `port`."""
    found = []
    for child in psutil.Process(runner_pid).children(recursive=True):
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.raddr and c.raddr.port == port for c in connections):
            found.append(child)
    return found


def latest_frame(camera_uuid: str) -> dict[bytes, bytes] | None:
    """The fields of the camera's latest annotated frame (frame_key), as the API reads them."""
    client = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    entries: Any = client.xrevrange(frame_key(camera_uuid), count=1)
    return dict(entries[0][1]) if entries else None


def log_paths(*directories: Path) -> list[Path]:
    return [path for directory in directories for path in directory.rglob("*.log")]
