"""`make run`: preflight, create the database, migrate, then run the API, one worker (with
the sweepers' beat), the webhook sender and Flower in the foreground until Ctrl-C stops them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from shared.contracts import ANALYSIS_QUEUES, WEBHOOK_QUEUE
from shared.logging import configure_logging
from shared.ops.migrate import migrate
from shared.ops.preflight import PreflightError, run_preflight
from shared.settings import Settings, get_settings

logger = logging.getLogger("vigil.devstack")

STOP_GRACE_S = 15.0


def commands(settings: Settings) -> dict[str, list[str]]:
    python = sys.executable
    beat_schedule = settings.storage_dir / "celerybeat-schedule"
    return {
        "api": [
            python, "-m", "uvicorn", "api.main:app",
            "--host", settings.api_host, "--port", str(settings.api_port),
        ],
        "worker": [
            python, "-m", "celery", "-A", "worker.celery_app", "worker",
            "--queues", ",".join(ANALYSIS_QUEUES), "--beat", "--schedule", str(beat_schedule),
            "--loglevel", settings.log_level, "--hostname", "worker@%h",
        ],
        "webhooks": [
            python, "-m", "celery", "-A", "worker.webhook_app", "worker",
            "--queues", WEBHOOK_QUEUE, "--concurrency", str(settings.webhook_concurrency),
            "--loglevel", settings.log_level, "--hostname", "webhooks@%h",
        ],
        "flower": [
            python, "-m", "celery", "-A", "worker.celery_app", "flower",
            f"--port={settings.flower_port}", "--address=127.0.0.1",
        ],
    }  # fmt: skip


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, proc in processes.items():
        if proc.poll() is None:
            logger.info("stopping %s", name)
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    configure_logging()
    settings = get_settings()
    try:
        run_preflight(settings)
    except PreflightError as exc:
        logger.error("%s", exc)
        return 1
    asyncio.run(migrate(settings.database_url))
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "FLOWER_BASIC_AUTH": f"{settings.flower_user}:{settings.flower_password.get_secret_value()}"
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, command in commands(settings).items():
            # Own process groups: Ctrl-C reaches only this supervisor, which stops them in order.
            processes[name] = subprocess.Popen(command, env=env, start_new_session=True)
        logger.info(
            "Vigil is up: API http://%s:%d/docs, Flower http://127.0.0.1:%d (Ctrl-C stops all)",
            settings.api_host, settings.api_port, settings.flower_port,
        )  # fmt: skip
        while not stopping:
            exited = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
            if exited:
                logger.error("stopped unexpectedly: %s", exited)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(processes)
        logger.info("all stopped")


if __name__ == "__main__":
    sys.exit(main())
