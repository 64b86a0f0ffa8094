"""The camera benchmark's own stack: a fresh database, its own Redis db, an API and two camera
runners (no Celery worker: cameras do not need one), and a signed-up user who drives it all
through the public API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import redis

from bench.image_endpoint import DB_PREFIX, POSTGRES, drop_database
from shared.live.protocol import PROCESSES_KEY
from shared.ops.localstack import REPO_ROOT, LocalStack
from shared.ops.migrate import migrate

REDIS_HOST = "redis://127.0.0.1:6379"
RUNNERS = ("cameras-a", "cameras-b")
PASSWORD = "bench-cameras-password-1"
METRICS_TOKEN = "bench-cameras-metrics-token"
# Runners load and compile their models before they register: a while on a busy 2-core machine.
READY_TIMEOUT_S = 240.0
DEFAULT_MODEL = "yolov8n_int8_openvino_model"


def model_dir() -> Path:
    """VIGIL_MODEL_DIR when it holds the weights, else ../shared/models (as `make run` does)."""
    configured = os.environ.get("VIGIL_MODEL_DIR")
    name = os.environ.get("VIGIL_MODEL_NAME", DEFAULT_MODEL)
    if configured and (Path(configured) / name).exists():
        return Path(configured).resolve()
    return REPO_ROOT.parent / "shared" / "models"


def stack_env(database_url: str, redis_url: str, storage_dir: Path) -> dict[str, str]:
    return {
        "VIGIL_ENV": "test",
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_STORAGE_DIR": str(storage_dir),
        "VIGIL_MODEL_DIR": str(model_dir()),
        "VIGIL_SECRET_KEY": "bench-cameras-secret-key-not-a-placeholder",
        "VIGIL_FLOWER_PASSWORD": "bench-flower-password-not-a-placeholder",
        "VIGIL_METRICS_TOKEN": METRICS_TOKEN,
        "VIGIL_SIGNUP": "open",
        "VIGIL_LOG_LEVEL": "INFO",
        # The RTSP test camera serves on loopback, which camera URLs may not point at otherwise.
        "VIGIL_CAMERA_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        # A webhook endpoint on the discard port, so that camera.online/offline deliveries are
        # written (and searched for the password); nothing sends them.
        "VIGIL_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8:9"]',
        # One client polls the API a few times a second for minutes: not what the limits guard.
        "VIGIL_RATE_LIMIT_IP_PER_MINUTE": "1000000",
        "VIGIL_RATE_LIMIT_HEALTH_PER_MINUTE": "1000000",
        "VIGIL_RATE_LIMIT_USER_PER_MINUTE": "1000000",
        "VIGIL_RATE_LIMIT_AUTH_PER_MINUTE": "1000000",
    }


@dataclass
class Api:
    """The public API as the benchmark's user; every answer's body is kept for the leak check."""

    client: httpx.Client
    answers: list[str] = field(default_factory=list)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append(response.text)

    @classmethod
    def signed_up(cls, base_url: str) -> Api:
        api = cls(httpx.Client(base_url=base_url, timeout=30))
        api.client.event_hooks["response"] = [api._keep]
        email = f"bench-cameras-{secrets.token_hex(4)}@example.com"
        api.client.post(
            "/api/v1/auth/signup", json={"email": email, "password": PASSWORD}
        ).raise_for_status()
        signin = api.client.post(
            "/api/v1/auth/signin", data={"username": email, "password": PASSWORD}
        )
        signin.raise_for_status()
        api.client.headers["Authorization"] = f"Bearer {signin.json()['access_token']}"
        return api

    def register(self, label: str, stream_url: str, **parameters: Any) -> dict[str, Any]:
        body = {
            "camera_id": f"bench-{label}-{uuid.uuid4().hex[:6]}",
            "stream_url": stream_url,
            "parameters": parameters,
        }
        response = self.client.post("/api/v1/cameras", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"POST /api/v1/cameras: {response.status_code} {response.text}")
        created: dict[str, Any] = response.json()
        return created

    def camera(self, camera_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/cameras/{camera_id}")
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def delete(self, camera_id: str) -> float:
        """DELETE the camera; the Unix time the request was sent."""
        sent = time.time()
        response = self.client.delete(f"/api/v1/cameras/{camera_id}")
        if response.status_code != 204:
            raise RuntimeError(f"DELETE {camera_id}: {response.status_code} {response.text}")
        return sent

    def health(self) -> dict[str, Any]:
        # 503 without a Celery worker, which this stack has none of; the body still counts
        # the runners.
        answer: dict[str, Any] = self.client.get("/api/v1/health").json()
        return answer


@dataclass
class CameraStack:
    stack: LocalStack
    database_url: str
    redis_url: str
    api: Api

    def runner_process(self, runner_id: str) -> str:
        """The name (in `stack.processes`) of the runner process that registered as
        `runner_id`: the benchmark kills it by its process, as a crash would."""
        pid = asyncio.run(_runner_pid(self.database_url, runner_id))
        for name, process in self.stack.processes.items():
            if process.pid == pid:
                return name
        raise RuntimeError(f"runner {runner_id} (pid {pid}) is not one of this stack's")

    def cpu_s(self, name: str) -> float:
        """CPU seconds used so far by the process and its children (the captures)."""
        process = psutil.Process(self.stack.processes[name].pid)
        total = 0.0
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                total += times.user + times.system
        return total

    def alive(self, name: str) -> bool:
        process = self.stack.processes.get(name)
        return process is not None and process.poll() is None


async def _runner_pid(database_url: str, runner_id: str) -> int:
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        pid = await conn.fetchval("SELECT pid FROM camera_runners WHERE id = $1", runner_id)
    finally:
        await conn.close()
    if pid is None:
        raise RuntimeError(f"no runner {runner_id} in camera_runners")
    return int(pid)


def _live_up(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.zcount(PROCESSES_KEY, f"({time.time()}", "+inf")) > 0
    finally:
        client.close()


def _wait_ready(stack: LocalStack, api_url: str, runners: int, live_redis: str | None) -> None:
    """Until the API answers, every runner has registered (its models loaded) and, given
    `live_redis`, a live process beats its heart there."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        for name, process in stack.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {stack.log_dir}")
        try:
            health = httpx.get(f"{api_url}/api/v1/health", timeout=10).json()
            counted = (health.get("runners") or {}).get("count", 0)
            if counted >= runners and (live_redis is None or _live_up(live_redis)):
                return
            last = f"{counted} of {runners} runners up"
            if live_redis is not None:
                last += ", live service up" if _live_up(live_redis) else ", live service not up"
        except (httpx.HTTPError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise TimeoutError(f"the camera stack was not ready after {READY_TIMEOUT_S:g}s: {last}")


@contextmanager
def camera_stack(
    run_dir: Path, redis_db: int, runners: tuple[str, ...] = RUNNERS, live: bool = False
) -> Iterator[CameraStack]:
    """The stack with `runners` camera runners and, with `live`, the live view service."""
    redis_url = f"{REDIS_HOST}/{redis_db}"
    # The db is the benchmark's own: what an earlier run left (generation fences, old events)
    # would skew this one.
    redis.Redis.from_url(redis_url).flushdb()
    name = f"{DB_PREFIX}cameras_{secrets.token_hex(4)}"
    database_url = f"postgres://postgres@{POSTGRES}/{name}"
    env = stack_env(database_url, redis_url, run_dir / "storage")
    # The migration reads the settings in this process, as the stack's processes do.
    os.environ.update(env)
    stack = LocalStack(env, run_dir / "logs")
    try:
        asyncio.run(migrate(database_url))
        stack.start_api()
        for runner in runners:
            stack.start_cameras(runner)
        if live:
            stack.start_live()
        _wait_ready(stack, stack.base_url, len(runners), redis_url if live else None)
        api = Api.signed_up(stack.base_url)
        yield CameraStack(stack, database_url, redis_url, api)
    finally:
        stack.stop()
        asyncio.run(drop_database(name))
