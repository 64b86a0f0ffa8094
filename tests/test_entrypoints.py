"""The processes the images start check their settings before doing anything: without a real
secret the API and the worker exit at once, naming the variable and printing no value, while
Flower starts with the broker's address alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.ops.localstack import free_port
from tests.conftest import REPO_ROOT

WEAK_SECRET = "short-but-private-value"
DATABASE_PASSWORD = "database-password-in-url"


def _clean_env(**extra: str) -> dict[str, str]:
    """What an image provides (VIGIL_ENV=prod) and nothing from the test run's settings."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(REPO_ROOT)} | extra


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd: a folder without a .env, which the settings would read.
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


STARTS = {
    "api": [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"],
    "worker": [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker"],
    "webhooks": [sys.executable, "-m", "celery", "-A", "worker.webhook_app", "worker"],
}


@pytest.mark.parametrize("service", sorted(STARTS))
@pytest.mark.parametrize("secret", [None, WEAK_SECRET])
def test_services_refuse_to_start_without_a_real_secret(
    service: str, secret: str | None, tmp_path: Path
) -> None:
    env = _clean_env(
        VIGIL_ENV="prod",
        VIGIL_DATABASE_URL=f"postgres://vigil:{DATABASE_PASSWORD}@127.0.0.1:1/vigil",
    )
    if secret is not None:
        env["VIGIL_SECRET_KEY"] = secret
    command = STARTS[service]
    if service == "api":
        command = [*command, "--port", str(free_port())]
    done = _run(command, env, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "VIGIL_SECRET_KEY" in output
    # The refusal names the setting; it never echoes what was configured.
    assert WEAK_SECRET not in output
    assert DATABASE_PASSWORD not in output


@pytest.mark.parametrize(
    ("service", "variable", "value"),
    [
        ("api", "VIGIL_PLATE_FORMATS", '{"uk": ["[A-Z"]}'),
        ("worker", "VIGIL_PLATE_FORMATS", '{"uk": ["[A-Z"]}'),
        ("worker", "VIGIL_WARMUP_DETECTORS", '["xray"]'),
        ("api", "VIGIL_WEBHOOK_ALLOWED_NETWORKS", '["10.0.0.0/8"]'),
        ("webhooks", "VIGIL_WEBHOOK_PUBLIC_PORTS", "https"),
    ],
)
def test_services_refuse_to_start_on_settings_their_domain_refuses(
    service: str, variable: str, value: str, tmp_path: Path
) -> None:
    """Checked as each service starts (the settings alone cannot judge these values): it
    exits before serving anything, naming the variable."""
    env = _clean_env(
        VIGIL_ENV="prod",
        VIGIL_SECRET_KEY="k3Jx9-vQ2mZ7pL0wR5tY8uN1bC4dF6gH",
        VIGIL_DATABASE_URL="postgres://vigil@127.0.0.1:1/vigil",
        VIGIL_REDIS_URL="redis://127.0.0.1:1/0",
        **{variable: value},
    )
    command = STARTS[service]
    if service == "api":
        command = [*command, "--port", str(free_port())]
    done = _run(command, env, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert variable in output


def test_flower_app_needs_only_the_broker(tmp_path: Path) -> None:
    broker = "redis://:broker-password@127.0.0.1:6379/7"
    code = "import sys, worker.flower_app as f; print(f.app.conf.broker_url); " + (
        "print('worker.celery_app' in sys.modules)"
    )
    done = _run([sys.executable, "-c", code], _clean_env(VIGIL_REDIS_URL=broker), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [broker, "False"]
