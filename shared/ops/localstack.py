"""Starts a real API, a real worker, the webhook sender, camera runners and the live view
service as subprocesses with given settings, for the test suite and the benchmarks (`make run`
is the interactive equivalent)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from shared.contracts import ANALYSIS_QUEUES, WEBHOOK_QUEUE

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStack:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = os.environ | env
        self.log_dir = log_dir
        self.api_port = free_port()
        self.api_workers = 1
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _spawn(self, name: str, command: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def start_worker(self, name: str = "worker") -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
            "--queues", ",".join(ANALYSIS_QUEUES), "--concurrency", "1", "--loglevel", "INFO",
            "--hostname", f"{name}-{os.getpid()}@%h",
        ]  # fmt: skip
        self._spawn(name, command)

    def start_webhook_worker(self, name: str = "webhooks") -> None:
        """The webhook sender: the light app on the `webhooks` queue alone."""
        command = [
            sys.executable, "-m", "celery", "-A", "worker.webhook_app", "worker",
            "--queues", WEBHOOK_QUEUE, "--concurrency", "2", "--loglevel", "INFO",
            "--hostname", f"{name}-{os.getpid()}@%h",
        ]  # fmt: skip
        self._spawn(name, command)

    def start_cameras(self, name: str = "cameras", capacity: int | None = None) -> None:
        """A camera runner (not Celery: it holds its cameras by leases in Postgres)."""
        command = [sys.executable, "-m", "worker.cameras"]
        if capacity is not None:
            command += ["--capacity", str(capacity)]
        self._spawn(name, command)

    def start_live(self, name: str = "live") -> None:
        """The live view service: WebRTC peers for the cameras' live view."""
        self._spawn(name, [sys.executable, "-m", "live"])

    def start_beat(self) -> None:
        """The sweeper's scheduler as a process of its own, as in the compose file: a test
        that kills a worker's pool processes leaves it running."""
        schedule = self.log_dir / "beat-schedule"
        self._spawn(
            "beat",
            [
                sys.executable, "-m", "celery", "-A", "worker.celery_app", "beat",
                "--schedule", str(schedule), "--loglevel", "INFO",
            ],
        )  # fmt: skip

    def start_api(self, workers: int = 1) -> None:
        """The API; one process unless `workers` says more (VIGIL_API_WORKERS is `make run`'s
        and the image's), so that a test reads one process's doings."""
        self.api_workers = workers
        self._spawn(
            "api",
            [
                sys.executable, "-m", "uvicorn", "api.main:app",
                "--host", "127.0.0.1", "--port", str(self.api_port), "--log-level", "warning",
                # The API reads X-Forwarded-For itself (VIGIL_TRUSTED_PROXIES).
                "--no-proxy-headers", "--workers", str(workers),
            ],
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Until the API answers and /health sees a worker (its model warmed up), and, when a
        live view service was started, until the root /health sees its heartbeat."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        paths = ["/api/v1/health", *(["/health"] if "live" in self.processes else [])]
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir}")
            try:
                responses = [httpx.get(f"{self.base_url}{path}", timeout=5) for path in paths]
                if all(response.status_code == 200 for response in responses):
                    return
                last = "; ".join(r.text for r in responses if r.status_code != 200)
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.5)
        raise TimeoutError(f"stack not ready after {timeout_s}s: {last}")

    def stop_process(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)


@contextmanager
def running_stack(
    env: dict[str, str], log_dir: Path, beat: bool = True, api_workers: int = 1
) -> Iterator[LocalStack]:
    stack = LocalStack(env, log_dir)
    try:
        stack.start_worker()
        stack.start_webhook_worker()
        stack.start_cameras()
        stack.start_live()
        if beat:
            stack.start_beat()
        stack.start_api(api_workers)
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
