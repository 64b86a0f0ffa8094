"""docker-compose.yml loads in Debian's docker-compose 1.29, and the Dockerfiles keep the API image
free of the worker's ML stack. No Docker engine is needed: `docker-compose config` only parses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.contracts import ANALYSIS_QUEUES, WEBHOOK_QUEUE

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
REQUIRED_ENV = {"VIGIL_SECRET_KEY": "compose-test-secret", "VIGIL_FLOWER_PASSWORD": "compose-test"}
SERVICES = {"postgres", "redis", "api", "worker", "webhooks", "beat", "flower"}
ML_PACKAGES = ("torch", "ultralytics", "opencv", "cv2")


def _compose_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that could change what Compose reads: the test
    suite exports VIGIL_* settings of its own, and COMPOSE_FILE would point elsewhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIGIL_", "COMPOSE_", "FLOWER_"))
    }
    return env | extra


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not on PATH; `make install` installs it (Debian package "
            "docker-compose)"
        )
    # An empty --env-file: a developer's ./.env must not supply (or hide) the variables under
    # test. Compose 1.29 insists on a regular file, so not /dev/null.
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "empty.env"
        env_file.touch()
        return subprocess.run(
            [exe, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source, for both the short (`src:dst:mode`) and the long syntax."""
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower() for req in requirements}


def test_compose_config_resolves() -> None:
    done = _compose_config(_compose_env(**REQUIRED_ENV))
    assert done.returncode == 0, done.stderr

    config = yaml.safe_load(done.stdout)
    services: dict[str, Any] = config["services"]
    assert set(services) >= SERVICES

    storage_dir = services["api"]["environment"]["VIGIL_STORAGE_DIR"]
    assert services["worker"]["environment"]["VIGIL_STORAGE_DIR"] == storage_dir
    api_source = _mounts(services["api"]).get(storage_dir)
    assert api_source, f"api does not mount anything at {storage_dir}"
    assert api_source in config.get("volumes", {}), "media storage must be a named volume"
    assert _mounts(services["worker"]).get(storage_dir) == api_source

    assert services["api"]["build"]["dockerfile"] == "Dockerfile.api"
    assert services["worker"]["build"]["dockerfile"] == "Dockerfile.worker"

    for name in SERVICES - {"beat"}:
        healthcheck = services[name].get("healthcheck", {})
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"

    assert (
        services["flower"]["environment"]["FLOWER_BASIC_AUTH"]
        == f"admin:{REQUIRED_ENV['VIGIL_FLOWER_PASSWORD']}"
    )


def test_workers_split_the_queues() -> None:
    """The analysis worker (the image's default command) takes the analysis queues, the webhook
    sender the webhook queue alone; both see the webhook allow-list the API checks with."""
    done = _compose_config(
        _compose_env(**REQUIRED_ENV, VIGIL_WEBHOOK_ALLOWED_NETWORKS='["10.1.0.0/16"]')
    )
    assert done.returncode == 0, done.stderr
    services: dict[str, Any] = yaml.safe_load(done.stdout)["services"]

    cmd = re.search(r"^CMD (\[.*\])$", (REPO_ROOT / "Dockerfile.worker").read_text(), re.M)
    assert cmd, "Dockerfile.worker has no exec-form CMD"
    default = yaml.safe_load(cmd.group(1))
    assert "command" not in services["worker"]
    assert default[default.index("--queues") + 1].split(",") == list(ANALYSIS_QUEUES)
    assert "worker.celery_app" in default

    sender = services["webhooks"]
    command = sender["command"]
    assert command[:4] == ["celery", "-A", "worker.webhook_app", "worker"]
    assert command[command.index("--queues") + 1] == WEBHOOK_QUEUE
    assert command[command.index("--concurrency") + 1] == "4"
    assert sender["build"]["dockerfile"] == "Dockerfile.worker"
    assert "worker.webhook_app" in " ".join(sender["healthcheck"]["test"])
    for name in ("api", "webhooks"):
        env = services[name]["environment"]
        assert env["VIGIL_WEBHOOK_ALLOWED_NETWORKS"] == '["10.1.0.0/16"]', name


def test_compose_config_requires_secret_key() -> None:
    env = _compose_env(**REQUIRED_ENV)
    del env["VIGIL_SECRET_KEY"]
    done = _compose_config(env)
    assert done.returncode != 0, "docker-compose config accepted a missing VIGIL_SECRET_KEY"
    assert "VIGIL_SECRET_KEY" in done.stderr


def test_api_image_has_no_worker_dependencies() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile.api").read_text()
    lowered = dockerfile.lower()
    for package in ML_PACKAGES:
        assert package not in lowered, f"Dockerfile.api mentions {package}"
    for worker_extra in ("'worker'", '"worker"', ".[worker", "all-extras"):
        assert worker_extra not in dockerfile, f"Dockerfile.api installs {worker_extra}"
    assert "['optional-dependencies']['api']" in dockerfile

    # What that Dockerfile installs: the base dependencies and the `api` extra.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = _requirement_names(project["dependencies"] + project["optional-dependencies"]["api"])
    assert not {name for name in names if name.startswith(ML_PACKAGES)}, names


def test_worker_image_torch_pins_match_pyproject() -> None:
    """Dockerfile.worker installs torch from the CPU index before the rest; if its pins drift from
    pyproject.toml, pip swaps in the multi-gigabyte CUDA build from PyPI."""
    dockerfile = (REPO_ROOT / "Dockerfile.worker").read_text()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(
        req.split("==", 1)
        for req in project["optional-dependencies"]["worker"]
        if req.startswith(("torch==", "torchvision=="))
    )
    assert set(pins) == {"torch", "torchvision"}, pins
    assert f"ARG TORCH_VERSION={pins['torch']}\n" in dockerfile
    assert f"ARG TORCHVISION_VERSION={pins['torchvision']}\n" in dockerfile
