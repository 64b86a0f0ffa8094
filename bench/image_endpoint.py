"""Latency of `POST /process/image` on a real stack, next to a bare in-process predict on
the same image: the difference is what upload, queue, database and worker add."""

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

import asyncpg
import cv2
import httpx

from bench.common import load_bare_model, model_path, percentile, time_ms
from shared.ops.localstack import running_stack
from shared.ops.migrate import migrate
from shared.settings import get_settings

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
    image: Path
    requests: int
    in_process_ms: list[float] = field(default_factory=list)
    endpoint_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return percentile(self.endpoint_ms, 50) / percentile(self.in_process_ms, 50)


def bus_image() -> Path:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ultralytics is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "bus.jpg"


def in_process_latency(image_path: Path, count: int) -> list[float]:
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"cannot decode {image_path}")
    model = load_bare_model(image)
    # One more untimed predict, to match the endpoint's two warm-up requests.
    model.predict(image, conf=0.25, verbose=False)
    return time_ms(lambda: model.predict(image, conf=0.25, verbose=False), count)


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


def endpoint_latency(base_url: str, image_path: Path, count: int, errors: list[str]) -> list[float]:
    image = image_path.read_bytes()
    # One keep-alive client: a browser or SDK would not reconnect per upload either.
    with httpx.Client(base_url=base_url, timeout=60) as client:
        client.headers["Authorization"] = f"Bearer {sign_in(client)}"
        for index in range(WARMUP_REQUESTS):
            post_image(client, image, errors, f"warm-up {index + 1}")
        samples = [post_image(client, image, errors, f"request {i + 1}") for i in range(count)]
    return [sample for sample in samples if sample is not None]


def log_tails(log_dir: Path, lines: int = 20) -> str:
    tails = []
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name}\n" + "\n".join(tail))
    return "\n".join(tails)


def bench_image(count: int) -> ImageResult:
    image_path = bus_image()
    # In-process first, while the stack is not yet there to compete for the two cores.
    result = ImageResult(image_path, count, in_process_ms=in_process_latency(image_path, count))
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp, throwaway_database() as url:
        log_dir = Path(tmp) / "logs"
        try:
            # No beat: the sweeper is not on the request path and would only add noise.
            with running_stack(stack_env(url, Path(tmp) / "storage"), log_dir, beat=False) as stack:
                result.endpoint_ms = endpoint_latency(
                    stack.base_url, image_path, count, result.errors
                )
        except Exception:
            # The temporary logs vanish with the directory; show why the stack failed first.
            print(log_tails(log_dir), file=sys.stderr)
            raise
    return result
