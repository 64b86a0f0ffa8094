"""`make run`: preflight, create the database, migrate, then run the API, one worker (with
the sweepers' beat), the webhook sender, a camera runner, the live view service and Flower in
the foreground until Ctrl-C stops them.

What a local stack needs and the operator has not set, it fills in: VIGIL_ENV=dev, open
sign-up, the weights in ../shared/models and the demo videos of ../shared/media/video (as the
folder `file://` cameras may play) when those folders exist, and a random secret key and
Flower password, each made on the first run and kept (0600) under var/ for the next."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts import ANALYSIS_QUEUES, WEBHOOK_QUEUE
from shared.logging import configure_logging
from shared.settings import PLACEHOLDER_SECRETS, Settings, get_settings

logger = logging.getLogger("vigil.devstack")

STOP_GRACE_S = 15.0
REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"
SHARED_MODELS = REPO_ROOT.parent / "shared" / "models"
SHARED_VIDEOS = REPO_ROOT.parent / "shared" / "media" / "video"
# Flower watches the broker and nothing else: it gets neither the secret key nor the database.
NOT_FOR_FLOWER = ("VIGIL_SECRET_KEY", "VIGIL_DATABASE_URL", "VIGIL_FLOWER_PASSWORD")


class Configured(BaseSettings):
    """What the operator set, in the environment or in .env, before make run fills the gaps.
    Plain strings: this only asks whether a value is there; Settings validates it."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    env: str | None = None
    secret_key: str | None = None
    flower_password: str | None = None
    signup: str | None = None
    model_dir: str | None = None
    camera_file_root: str | None = None


def stored_secret(path: Path) -> tuple[str, bool]:
    """The secret kept in `path`, made on first use; True when it was made just now."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Written by an older checkout or by hand: readable by its owner only, whatever it was.
        path.chmod(0o600)
        secret = path.read_text().strip()
        if secret:
            return secret, False
        path.unlink()
        return stored_secret(path)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    return secret, True


def _missing_secret(value: str | None) -> bool:
    # A placeholder is what an old copy of .env.example carries: replaced rather than refused.
    return value is None or value.strip().lower() in PLACEHOLDER_SECRETS


def local_environment(
    configured: Configured,
    var_dir: Path = VAR_DIR,
    shared_models: Path = SHARED_MODELS,
    shared_videos: Path = SHARED_VIDEOS,
) -> tuple[dict[str, str], str | None]:
    """The VIGIL_* values make run adds to the environment, and the Flower password when it
    was made just now (to show once)."""
    values: dict[str, str] = {}
    if not configured.env:
        values["VIGIL_ENV"] = "dev"
    if _missing_secret(configured.secret_key):
        values["VIGIL_SECRET_KEY"], _ = stored_secret(var_dir / "secret_key")
    new_flower_password = None
    if _missing_secret(configured.flower_password):
        password, made = stored_secret(var_dir / "flower_password")
        values["VIGIL_FLOWER_PASSWORD"] = password
        new_flower_password = password if made else None
    if not configured.signup:
        values["VIGIL_SIGNUP"] = "open"
    if not configured.model_dir and shared_models.is_dir():
        values["VIGIL_MODEL_DIR"] = str(shared_models)
    if not configured.camera_file_root and shared_videos.is_dir():
        values["VIGIL_CAMERA_FILE_ROOT"] = str(shared_videos)
    return values, new_flower_password


def flower_environment(env: dict[str, str], settings: Settings) -> dict[str, str]:
    kept = {key: value for key, value in env.items() if key not in NOT_FOR_FLOWER}
    credentials = f"{settings.flower_user}:{settings.flower_password.get_secret_value()}"
    return kept | {"FLOWER_BASIC_AUTH": credentials}


def commands(settings: Settings) -> dict[str, list[str]]:
    python = sys.executable
    beat_schedule = settings.storage_dir / "celerybeat-schedule"
    return {
        # One uvicorn worker per core unless VIGIL_API_WORKERS says otherwise (api/serve.py).
        "api": [
            python, "-m", "api.serve",
            "--host", settings.api_host, "--port", str(settings.api_port),
            # The API reads X-Forwarded-For itself, and only from VIGIL_TRUSTED_PROXIES.
            "--no-proxy-headers",
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
        "cameras": [python, "-m", "worker.cameras"],
        "live": [python, "-m", "live"],
        # Loopback only, with basic auth: Flower can stop workers and revoke tasks.
        "flower": [
            python, "-m", "celery", "-A", "worker.flower_app", "flower",
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
    values, new_flower_password = local_environment(Configured())
    # Before the settings are first read (logging reads them too), so this process and every
    # child see the same values.
    os.environ.update(values)
    configure_logging()
    # Imported only now: importing them reads the settings (shared/db/config.py).
    from shared.ops.migrate import migrate
    from shared.ops.preflight import PreflightError, run_preflight

    settings = get_settings()
    try:
        run_preflight(settings)
    except PreflightError as exc:
        logger.error("%s", exc)
        return 1
    asyncio.run(migrate(settings.database_url))
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name, command in commands(settings).items():
            child_env = flower_environment(env, settings) if name == "flower" else env
            # Own process groups: Ctrl-C reaches only this supervisor, which stops them in order.
            processes[name] = subprocess.Popen(command, env=child_env, start_new_session=True)
        logger.info(
            "Vigil is up: API http://%s:%d/docs, Flower http://127.0.0.1:%d (Ctrl-C stops all)",
            settings.api_host, settings.api_port, settings.flower_port,
        )  # fmt: skip
        # On the terminal, not in the log: shown the one time it is made.
        if new_flower_password is not None:
            print(
                f"Flower sign-in: {settings.flower_user} / {new_flower_password} "
                f"(kept in {VAR_DIR / 'flower_password'})",
                flush=True,
            )
        elif "VIGIL_FLOWER_PASSWORD" in values:
            print(
                f"Flower sign-in: {settings.flower_user}, password in "
                f"{VAR_DIR / 'flower_password'}",
                flush=True,
            )
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
