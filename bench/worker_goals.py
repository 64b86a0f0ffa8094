"""`python -m bench.worker_goals`: what one analysis worker process costs in memory and how soon a
worker serves after it starts, next to a bare ultralytics process on the same model (the
"before": torch and ultralytics loading it and predicting once).

Real Celery workers (`celery -A worker.celery_app worker`, one pool process as `make run` and
the compose file start it) on Redis db 13, each on a queue of its own so that it takes no job
of another stack on that database; with no job to run, they need no database. Three starts,
sharing one storage folder (where compiled models are cached, as the compose volume keeps them
across restarts): the first start, a restart, and a restart that also loads the OCR engine
(VIGIL_WARMUP_OCR). Each warms objects, people, faces, motion and vehicles.

A worker is ready once it answers a Celery ping and its pool process has logged the end of its
warm-up (from then on a job pays for no model). Memory is the pool process's, the one that
analyses: RSS, and USS (what is its alone) and PSS (its share of what it shares) from psutil."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from celery import Celery

from bench.common import REPO_ROOT, model_path, show
from shared.settings import get_settings

REDIS_URL = "redis://127.0.0.1:6379/13"
WARMED = ("objects", "people", "faces", "motion", "vehicles")
MEMORY_TARGET_MB = 512.0
OCR_TARGET_MB = 150.0
READY_TARGET_S = 5.0
# A worker that takes longer than this is reported as failed, not waited on.
START_TIMEOUT_S = 180.0
# Once ready, memory settles (allocator arenas, threads starting) for this long before it is read.
SETTLE_S = 1.0
PING_TIMEOUT_S = 0.2
# worker/services/warmup.py's last line: the pool process has loaded what it was asked to.
WARM_UP_DONE = re.compile(r"warm-up of .* took [0-9.]+s")
MB = 1024 * 1024

# The "before": a bare process that loads the same model with ultralytics (and so torch) and
# predicts once, says so, and waits on its stdin while its memory is read.
BARE = """
import sys
import numpy as np
from ultralytics import YOLO
model = YOLO(sys.argv[1], task="detect")
model.predict(np.zeros((640, 640, 3), np.uint8), conf=0.25, verbose=False)
print("ready", flush=True)
sys.stdin.read()
"""


@dataclass(frozen=True)
class Memory:
    rss_mb: float
    uss_mb: float | None
    pss_mb: float | None

    def __str__(self) -> str:
        shares = [
            f"{label} {value:.0f}"
            for label, value in (("USS", self.uss_mb), ("PSS", self.pss_mb))
            if value is not None
        ]
        return f"{self.rss_mb:.0f} MB RSS" + (f" ({', '.join(shares)})" if shares else "")


@dataclass(frozen=True)
class WorkerStart:
    """One worker started: seconds from its launch to its first ping reply and to its pool
    process's warm-up line, and then the memory of that pool process and of the main one."""

    label: str
    ping_s: float
    warmed_s: float
    memory: Memory
    main_memory: Memory

    @property
    def ready_s(self) -> float:
        return max(self.ping_s, self.warmed_s)


@dataclass(frozen=True)
class BareResult:
    """Seconds from launch to the model loaded and one prediction made, and the memory then."""

    ready_s: float
    memory: Memory


@dataclass(frozen=True)
class WorkerResult:
    model: str
    first: WorkerStart
    restart: WorkerStart
    with_ocr: WorkerStart
    bare: BareResult | None

    @property
    def ocr_mb(self) -> float:
        return self.with_ocr.memory.rss_mb - self.restart.memory.rss_mb


def memory_of(process: psutil.Process) -> Memory:
    info = process.memory_full_info()
    uss, pss = getattr(info, "uss", None), getattr(info, "pss", None)
    return Memory(
        info.rss / MB, None if uss is None else uss / MB, None if pss is None else pss / MB
    )


def worker_env(storage_dir: Path, ocr: bool) -> dict[str, str]:
    return os.environ | {
        "VIGIL_ENV": "test",
        "VIGIL_SECRET_KEY": "bench-secret-key-not-a-placeholder",
        "VIGIL_REDIS_URL": REDIS_URL,
        # Never created: a worker given no job reads no database, and one that did would fail
        # loudly here rather than touch anyone's data.
        "VIGIL_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/vigil_bench_none",
        "VIGIL_STORAGE_DIR": str(storage_dir),
        # Absolute: the worker resolves paths from its own working directory.
        "VIGIL_MODEL_DIR": str(model_path().parent),
        "VIGIL_MODEL_NAME": get_settings().model_name,
        "VIGIL_WORKER_CONCURRENCY": "1",
        "VIGIL_WARMUP_DETECTORS": "[" + ",".join(f'"{kind}"' for kind in WARMED) + "]",
        "VIGIL_WARMUP_OCR": "true" if ocr else "false",
        "VIGIL_LOG_LEVEL": "INFO",
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the worker's process group (its pool process too), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_worker(label: str, storage_dir: Path, log: Path, ocr: bool) -> WorkerStart:
    name = f"bench-{secrets.token_hex(4)}"
    node = f"{name}@{socket.gethostname()}"
    command = [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
        "--queues", name, "--loglevel", "INFO", "--hostname", node,
    ]  # fmt: skip
    control = Celery("bench", broker=REDIS_URL)
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=worker_env(storage_dir, ocr), stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        ping_s = warmed_s = None
        while ping_s is None or warmed_s is None:
            if process.poll() is not None:
                raise RuntimeError(f"{label}: the worker exited with {process.returncode}; {log}")
            if time.perf_counter() - started > START_TIMEOUT_S:
                raise TimeoutError(f"{label}: not ready after {START_TIMEOUT_S:.0f}s; {log}")
            if warmed_s is None and WARM_UP_DONE.search(log.read_text(errors="replace")):
                warmed_s = time.perf_counter() - started
            if ping_s is None and control.control.ping(destination=[node], timeout=PING_TIMEOUT_S):
                ping_s = time.perf_counter() - started
        time.sleep(SETTLE_S)
        main = psutil.Process(process.pid)
        (pool,) = main.children()
        return WorkerStart(label, ping_s, warmed_s, memory_of(pool), memory_of(main))
    finally:
        stop(process)
        control.close()


def bench_bare() -> BareResult | None:
    """None where ultralytics is not installed: there is no "before" to run."""
    if importlib.util.find_spec("ultralytics") is None:
        return None
    env = os.environ | {"YOLO_VERBOSE": "false"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", BARE, str(model_path())], cwd=REPO_ROOT, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        # Whatever ultralytics prints while loading comes first.
        if not any(line.strip() == b"ready" for line in process.stdout):
            raise RuntimeError(f"the bare ultralytics process failed ({process.wait()})")
        ready_s = time.perf_counter() - started
        time.sleep(SETTLE_S)
        return BareResult(ready_s, memory_of(psutil.Process(process.pid)))
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def bench_worker() -> WorkerResult:
    if not model_path().exists():
        raise SystemExit(f"no model at {model_path()}: set VIGIL_MODEL_DIR (../shared/models)")
    # The bare process first and alone: nothing else competes for the cores while it loads.
    bare = bench_bare()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-worker-") as tmp:
        storage, logs = Path(tmp) / "storage", Path(tmp)
        try:
            first = start_worker("first start", storage, logs / "first.log", ocr=False)
            restart = start_worker("restart", storage, logs / "restart.log", ocr=False)
            with_ocr = start_worker("restart, OCR", storage, logs / "ocr.log", ocr=True)
        except Exception:
            # The logs vanish with the folder: show why the worker did not come up first.
            for log in sorted(logs.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
    return WorkerResult(get_settings().model_name, first, restart, with_ocr, bare)


@dataclass(frozen=True)
class Goal:
    name: str
    target: str
    ours: str
    before: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


def worker_goals(result: WorkerResult) -> list[Goal]:
    bare = result.bare
    before_memory = str(bare.memory) if bare else "ultralytics not installed"
    before_ready = f"{bare.ready_s:.1f} s (model loaded, one predict)" if bare else "-"
    memory_ocr_mb = MEMORY_TARGET_MB + OCR_TARGET_MB

    def ready(start: WorkerStart) -> str:
        return f"{start.ready_s:.1f} s (ping {start.ping_s:.1f} s, warmed {start.warmed_s:.1f} s)"

    return [
        Goal(
            f"analysis process memory, {'+'.join(WARMED)} loaded",
            f"≤ {MEMORY_TARGET_MB:.0f} MB",
            str(result.restart.memory),
            before_memory,
            result.restart.memory.rss_mb <= MEMORY_TARGET_MB,
        ),
        Goal(
            "the same with the OCR engine loaded too",
            f"≤ {memory_ocr_mb:.0f} MB",
            str(result.with_ocr.memory),
            "-",
            result.with_ocr.memory.rss_mb <= memory_ocr_mb,
        ),
        Goal(
            "memory the OCR engine adds",
            f"≤ {OCR_TARGET_MB:.0f} MB",
            f"{result.ocr_mb:+.0f} MB RSS",
            "-",
            result.ocr_mb <= OCR_TARGET_MB,
        ),
        Goal(
            "worker ready after start (a restart: compiled models cached)",
            f"≤ {READY_TARGET_S:.0f} s",
            ready(result.restart),
            before_ready,
            result.restart.ready_s <= READY_TARGET_S,
        ),
        Goal(
            "worker ready after its first start (models compiled)",
            f"≤ {READY_TARGET_S:.0f} s",
            ready(result.first),
            before_ready,
            result.first.ready_s <= READY_TARGET_S,
        ),
    ]


def worker_lines(result: WorkerResult) -> list[str]:
    """A markdown table (to paste into the docs as printed): each goal, its target, our figure,
    the bare ultralytics process's, and the verdict."""
    return [
        f"worker  {result.model}  ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})",
        "",
        "| goal | target | ours | before: bare ultralytics | verdict |",
        "|---|---|---|---|---|",
        *(
            f"| {g.name} | {g.target} | {g.ours} | {g.before} | {g.verdict} |"
            for g in worker_goals(result)
        ),
        "",
        f"- the worker's main process (no model): {result.restart.main_memory}",
        f"- with OCR, ready in {result.with_ocr.ready_s:.1f} s",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_goals", description=__doc__)
    parser.parse_args(argv)
    result = bench_worker()
    show(worker_lines(result))
    return 0 if all(goal.passed for goal in worker_goals(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
