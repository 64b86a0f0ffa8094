"""Latency of `POST /process/image` on a real stack, next to an in-process predict on the same
image (ultralytics', and our engine's): the difference is what upload, queue, database and
worker add. Also the real stack itself, which `make bench` runs every API section on."""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import redis

from bench.common import model_path, percentile, read_image, time_ms
from shared.ops.localstack import LocalStack, running_stack
from shared.ops.migrate import migrate
from shared.settings import get_settings
from worker.detectors.yolo import yolo_runner

POSTGRES = "127.0.0.1:5432"
MAINTENANCE_URL = f"postgresql://postgres@{POSTGRES}/postgres"
REDIS_URL = "redis://127.0.0.1:6379/13"
DB_PREFIX = "vigil_bench_"
# Databases other people and the test suite rely on; never dropped whatever the name says.
PROTECTED_DATABASES = frozenset({"test", "postgres", "root", "template0", "template1"})
WARMUP_REQUESTS = 2
PASSWORD = "bench-password-1"


@dataclass
class ImageResult:
    """Latencies in ms: ultralytics' in-process predict (the goal's reference), our engine's
    in-process detection, and the endpoint on a real stack."""

    image: Path
    requests: int
    in_process_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    endpoint_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return percentile(self.endpoint_ms, 50) / percentile(self.in_process_ms, 50)

    @property
    def added_ms(self) -> float:
        """What the endpoint adds to an in-process predict, at the p50."""
        return percentile(self.endpoint_ms, 50) - percentile(self.in_process_ms, 50)


def bus_image() -> Path:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ultralytics is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "bus.jpg"


def in_process_latency(model: Any, image: np.ndarray, count: int) -> list[float]:
    """`model` is the bare ultralytics YOLO, warmed up."""
    # One more untimed predict on this image, to match the endpoint's warm-up requests.
    model.predict(image, conf=0.25, verbose=False)
    return time_ms(lambda: model.predict(image, conf=0.25, verbose=False), count)


def engine_latency(image: np.ndarray, count: int) -> list[float]:
    """Our engine's detection, in process, as the worker runs it for an image job. Each call
    gets a frame object of its own: the runner keeps one result per frame object, and a repeat
    would only look that up."""
    runner = yolo_runner(get_settings().model_name)
    frames = iter([image.copy() for _ in range(count + WARMUP_REQUESTS)])

    def detect() -> None:
        frame = next(frames)
        runner.predict(frame)
        runner.release(frame)

    for _ in range(WARMUP_REQUESTS):
        detect()
    return time_ms(detect, count)


def bench_in_process(model: Any, count: int) -> ImageResult:
    """Both in-process latencies: measured before the stack starts, which would compete for the
    cores; the endpoint's are added on the stack."""
    path = bus_image()
    image = read_image(path)
    return ImageResult(
        path,
        count,
        in_process_ms=in_process_latency(model, image, count),
        engine_ms=engine_latency(image, count),
    )


async def drop_database(name: str) -> None:
    if not name.startswith(DB_PREFIX) or name in PROTECTED_DATABASES:
        raise ValueError(f"refusing to drop database {name!r}")
    conn = await asyncpg.connect(MAINTENANCE_URL, timeout=5)
    try:
        # FORCE ends connections a killed API or worker may have left behind.
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A freshly migrated database with a random name, dropped on the way out."""
    name = f"{DB_PREFIX}{secrets.token_hex(4)}"
    url = f"postgres://postgres@{POSTGRES}/{name}"
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(drop_database(name))


def stack_env(database_url: str, storage_dir: Path) -> dict[str, str]:
    settings = get_settings()
    return {
        "VIGIL_ENV": "test",
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": REDIS_URL,
        "VIGIL_STORAGE_DIR": str(storage_dir),
        # Absolute: the subprocesses resolve paths from their own working directory.
        "VIGIL_MODEL_DIR": str(model_path().parent),
        "VIGIL_MODEL_NAME": settings.model_name,
        # Settings refuse placeholder secrets, and Flower's outside dev.
        "VIGIL_SECRET_KEY": "bench-secret-key-not-a-placeholder",
        "VIGIL_FLOWER_PASSWORD": "bench-flower-password-not-a-placeholder",
        # Long enough that a slow request still answers 200 rather than 202.
        "VIGIL_IMAGE_WAIT_S": "30",
        # The benchmark signs up its own user.
        "VIGIL_SIGNUP": "open",
    }


def sign_in(client: httpx.Client) -> str:
    email = f"bench-{secrets.token_hex(4)}@example.com"
    signup = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    signup.raise_for_status()
    signin = client.post("/api/v1/auth/signin", data={"username": email, "password": PASSWORD})
    signin.raise_for_status()
    return str(signin.json()["access_token"])


def post_image(client: httpx.Client, image: bytes, errors: list[str], label: str) -> float | None:
    """Latency in ms of one upload answered 200; anything else is an error, not a sample.
    Timed around the whole call, so encoding the multipart body counts as it would for a client."""
    files = {"file": ("bus.jpg", image, "image/jpeg")}
    started = time.perf_counter()
    try:
        response = client.post("/api/v1/process/image", files=files)
    except httpx.HTTPError as exc:
        errors.append(f"{label}: {type(exc).__name__}: {exc}")
        return None
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        errors.append(f"{label}: HTTP {response.status_code}: {response.text[:200]}")
        return None
    return elapsed_ms


def endpoint_latency(client: httpx.Client, result: ImageResult) -> None:
    """Adds the endpoint's samples, and its errors, to `result`. `client` is signed in and keeps
    its connection alive: a browser or SDK would not reconnect per upload either."""
    image = result.image.read_bytes()
    for index in range(WARMUP_REQUESTS):
        post_image(client, image, result.errors, f"warm-up {index + 1}")
    for index in range(result.requests):
        sample = post_image(client, image, result.errors, f"request {index + 1}")
        if sample is not None:
            result.endpoint_ms.append(sample)


def log_tails(log_dir: Path, lines: int = 20) -> str:
    tails = []
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name}\n" + "\n".join(tail))
    return "\n".join(tails)


def redis_neighbours() -> int:
    """Connections other processes hold to the stack's Redis db: another stack there shares
    the queues, and its worker may take this one's jobs (whose rows it does not have)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        db = int(client.connection_pool.connection_kwargs.get("db", 0))
        # Less this client's own connection.
        return sum(1 for c in client.client_list() if int(c["db"]) == db) - 1
    finally:
        client.close()


@dataclass(frozen=True)
class ApiStack:
    stack: LocalStack
    # Signed in as the benchmark's own user; one keep-alive connection.
    client: httpx.Client


@contextmanager
def api_stack(extra_env: dict[str, str], api_workers: int) -> Iterator[ApiStack]:
    """A real stack (API with `api_workers` processes, worker, webhook sender, camera runner,
    live service) on a throwaway database, with `extra_env` on top of `stack_env`. An error
    raised out of it prints the tails of its logs first: they vanish with the temporary
    directory, and say why the stack did not start."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp, throwaway_database() as url:
        log_dir = Path(tmp) / "logs"
        env = stack_env(url, Path(tmp) / "storage") | extra_env
        try:
            # No beat: the sweeper is not on the request path and would only add noise.
            with (
                running_stack(env, log_dir, beat=False, api_workers=api_workers) as stack,
                httpx.Client(base_url=stack.base_url, timeout=60) as client,
            ):
                client.headers["Authorization"] = f"Bearer {sign_in(client)}"
                yield ApiStack(stack, client)
        except Exception:
            print(log_tails(log_dir), file=sys.stderr)
            raise
