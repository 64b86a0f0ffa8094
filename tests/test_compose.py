"""docker-compose.yml loads in Debian's docker-compose 1.29, requires every secret, confines every
service and publishes nothing beyond loopback by default; the Dockerfiles keep the API image free
of the worker's ML stack. No Docker engine is needed: `docker-compose config` only parses."""

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
from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
REQUIRED_ENV = {
    "VIGIL_SECRET_KEY": "compose-test-secret",
    "VIGIL_FLOWER_PASSWORD": "compose-test",
    "VIGIL_POSTGRES_PASSWORD": "compose-test-postgres",
    "VIGIL_REDIS_PASSWORD": "compose-test-redis",
}
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

    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == (
        f"admin:{REQUIRED_ENV['VIGIL_FLOWER_PASSWORD']}"
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


@pytest.mark.parametrize("variable", sorted(REQUIRED_ENV))
def test_compose_config_requires_every_secret(variable: str) -> None:
    """No secret has a default: unset or empty, Compose refuses to start anything."""
    for value in (None, ""):
        env = _compose_env(**REQUIRED_ENV)
        if value is None:
            del env[variable]
        else:
            env[variable] = value
        done = _compose_config(env)
        assert done.returncode != 0, f"docker-compose config accepted {variable}={value!r}"
        assert variable in done.stderr


def _services(**extra: str) -> dict[str, Any]:
    done = _compose_config(_compose_env(**REQUIRED_ENV, **extra))
    assert done.returncode == 0, done.stderr
    services: dict[str, Any] = yaml.safe_load(done.stdout)["services"]
    return services


def _bytes(size: str | int) -> int:
    if isinstance(size, int):
        return size
    match = re.fullmatch(r"(\d+)([kmg]?)b?", size.lower())
    assert match, f"not a memory size: {size}"
    number, unit = match.groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def test_every_service_is_confined() -> None:
    """The worker parses hostile media and the webhook sender talks to the internet: no service
    keeps capabilities, gains privileges, writes its root or takes the host's memory."""
    services = _services()
    for name, service in services.items():
        assert service.get("cap_drop") == ["ALL"], name
        assert not service.get("cap_add"), name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert not service.get("privileged"), name
        assert service.get("read_only") is True, name
        assert any(str(t).split(":")[0] == "/tmp" for t in service.get("tmpfs", [])), name
        assert _bytes(service["mem_limit"]) > 0, name
        assert float(service["cpus"]) > 0, name
        assert int(service["pids_limit"]) > 0, name
    worker_memory = _bytes(services["worker"]["mem_limit"])
    assert all(
        worker_memory > _bytes(service["mem_limit"])
        for name, service in services.items()
        if name != "worker"
    ), "the analysis worker should get the most memory"
    # The data the stack keeps lives on volumes, which stay writable under the read-only root.
    assert "/data/storage" in _mounts(services["api"])
    assert "/var/lib/postgresql/data" in _mounts(services["postgres"])
    assert "/data" in _mounts(services["redis"])


def _published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of each published port, for both syntaxes."""
    published = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.append((port.get("host_ip", ""), str(port.get("published", ""))))
        else:
            parts = str(port).split("/")[0].split(":")
            assert len(parts) == 3, f"{port} does not name the host address it binds"
            published.append((parts[0], parts[1]))
    return published


def test_ports_are_published_on_loopback_unless_configured() -> None:
    services = _services()
    published = {name: _published(service) for name, service in services.items()}
    assert published["api"] == [("127.0.0.1", "8000")]
    assert published["flower"] == [("127.0.0.1", "5555")]
    assert not any(published[name] for name in SERVICES - {"api", "flower"})

    services = _services(VIGIL_API_BIND="10.0.0.5", VIGIL_API_PORT="8080")
    assert _published(services["api"]) == [("10.0.0.5", "8080")]
    assert _published(services["flower"]) == [("127.0.0.1", "5555")]


def test_redis_and_postgres_require_their_passwords() -> None:
    services = _services()
    redis_password = REQUIRED_ENV["VIGIL_REDIS_PASSWORD"]
    command = services["redis"]["command"]
    assert command[command.index("--requirepass") + 1] == redis_password
    # The health check authenticates without putting the password on a command line.
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == redis_password
    assert redis_password not in " ".join(services["redis"]["healthcheck"]["test"])
    for name in SERVICES - {"postgres", "redis"}:
        url = services[name]["environment"]["VIGIL_REDIS_URL"]
        assert url == f"redis://:{redis_password}@redis:6379/0", name

    postgres_password = REQUIRED_ENV["VIGIL_POSTGRES_PASSWORD"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == postgres_password
    for name in SERVICES - {"postgres", "redis", "flower"}:
        url = services[name]["environment"]["VIGIL_DATABASE_URL"]
        assert f":{postgres_password}@postgres:5432/" in url, name


def test_flower_gets_only_the_broker_and_its_own_credentials() -> None:
    flower = _services()["flower"]
    assert flower["command"][:4] == ["celery", "-A", "worker.flower_app", "flower"]
    assert set(flower["environment"]) == {"VIGIL_REDIS_URL", "FLOWER_BASIC_AUTH"}
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == (
        f"admin:{REQUIRED_ENV['VIGIL_FLOWER_PASSWORD']}"
    )
    assert REQUIRED_ENV["VIGIL_SECRET_KEY"] not in str(flower)
    assert REQUIRED_ENV["VIGIL_POSTGRES_PASSWORD"] not in str(flower)


def test_api_health_check_probes_readiness_and_proxies_are_explicit() -> None:
    """A stuck API must fail its health check (and be restarted), and only the proxies the
    operator names may set the client address."""
    api = _services()["api"]
    probe = " ".join(api["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/api/v1/health/ready" in probe
    assert "timeout=" in probe
    assert api["healthcheck"]["timeout"]
    dockerfile = (REPO_ROOT / "Dockerfile.api").read_text()
    healthcheck = dockerfile.split("\nHEALTHCHECK ", 1)[1].split("\n\n", 1)[0]
    assert "/api/v1/health/ready" in healthcheck

    assert "FORWARDED_ALLOW_IPS" not in api["environment"]
    assert api["environment"]["VIGIL_TRUSTED_PROXIES"] == "[]"
    assert "--no-proxy-headers" in dockerfile
    assert "--proxy-headers" not in dockerfile.replace("--no-proxy-headers", "")


@pytest.mark.parametrize("dockerfile", ["Dockerfile.api", "Dockerfile.worker"])
def test_images_default_to_prod(dockerfile: str) -> None:
    """An image run without VIGIL_ENV (docker run, Kubernetes) still gets the strict checks."""
    text = (REPO_ROOT / dockerfile).read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^\s+VIGIL_ENV=prod\b", final_stage, re.M), dockerfile


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


def test_the_live_view_service_gets_redis_alone_and_publishes_its_udp_range() -> None:
    """The live view's sessions take random UDP ports within the container's ephemeral range,
    which is the published range; loopback unless configured. It needs Redis and no database,
    and the API tells browsers the ICE servers the live service uses."""
    services = _services(VIGIL_WEBRTC_ICE_SERVERS='[{"urls": "stun:stun.example.com:3478"}]')
    live = services["live"]
    assert live["build"]["dockerfile"] == "Dockerfile.live"
    assert "VIGIL_DATABASE_URL" not in live["environment"]
    assert REQUIRED_ENV["VIGIL_POSTGRES_PASSWORD"] not in str(live)
    assert live["healthcheck"]["test"]
    shared = ("VIGIL_WEBRTC_ICE_SERVERS", "VIGIL_WEBRTC_TURN_SECRET", "VIGIL_WEBRTC_MAX_SESSION_S")
    for name in shared:
        assert live["environment"][name] == services["api"]["environment"][name], name
    assert live["sysctls"]["net.ipv4.ip_local_port_range"] == "40000 40099"
    published = {(address, port) for address, port in _published(live)}
    assert published == {("127.0.0.1", str(port)) for port in range(40000, 40100)}
    assert all(str(port).endswith("/udp") for port in live["ports"])

    moved = _services(
        VIGIL_LIVE_UDP_BIND="192.0.2.10", VIGIL_LIVE_UDP_MIN="50000", VIGIL_LIVE_UDP_MAX="50009"
    )["live"]
    assert moved["sysctls"]["net.ipv4.ip_local_port_range"] == "50000 50009"
    assert set(_published(moved)) == {("192.0.2.10", str(port)) for port in range(50000, 50010)}


def test_live_image_has_neither_the_worker_nor_the_api_stack() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile.live").read_text()
    lowered = dockerfile.lower()
    for package in ML_PACKAGES:
        assert package not in lowered, f"Dockerfile.live mentions {package}"
    assert "['optional-dependencies']['live']" in dockerfile
    assert "COPY worker/" not in dockerfile
    assert "COPY api/" not in dockerfile
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^\s+VIGIL_ENV=prod\b", final_stage, re.M)
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = _requirement_names(project["dependencies"] + project["optional-dependencies"]["live"])
    assert not {name for name in names if name.startswith(ML_PACKAGES)}, names


# A value other than the default for each live view setting, as it is written in the environment.
WEBRTC_SAMPLES = {
    "webrtc_ice_servers": '[{"urls": ["stun:stun.example.com:3478"]}]',
    "webrtc_turn_secret": "compose-test-turn-secret",
    "webrtc_turn_ttl_s": "600",
    "webrtc_max_sessions": "7",
    "webrtc_max_sessions_per_user": "2",
    "webrtc_max_session_s": "120",
    "webrtc_offer_timeout_s": "4.5",
}


def _settings_read_by(*folders: str) -> set[str]:
    """The `webrtc_*` settings the Python sources under these folders name."""
    return {
        name
        for folder in folders
        for path in (REPO_ROOT / folder).rglob("*.py")
        for name in re.findall(r"\bwebrtc_\w+", path.read_text())
    }


def test_every_webrtc_setting_reaches_the_services_that_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each VIGIL_WEBRTC_* setting can be set through Compose for the API (which reads them all)
    and for the live service (those its peers read); left unset, each is the setting's own
    default, so that Compose changes no default behind the settings' back."""
    fields = {name for name in Settings.model_fields if name.startswith("webrtc_")}
    assert set(WEBRTC_SAMPLES) == fields, "give each live view setting a sample value here"
    read_by_live = _settings_read_by("live", "shared/live") & fields
    assert {"webrtc_ice_servers", "webrtc_max_session_s"} <= read_by_live
    readers = {"api": fields, "live": read_by_live}

    variables = {name: f"VIGIL_{name.upper()}" for name in fields}
    defaults = _services()
    samples = _services(**{variables[name]: value for name, value in WEBRTC_SAMPLES.items()})
    for service, names in readers.items():
        for name in sorted(names):
            environment = samples[service]["environment"]
            assert variables[name] in environment, f"{service} cannot be given {variables[name]}"
            assert environment[variables[name]] == WEBRTC_SAMPLES[name], (service, name)

    # The defaults Compose writes mean what the settings' own defaults do.
    for name in fields:
        monkeypatch.setenv(variables[name], str(defaults["api"]["environment"][variables[name]]))
    from_compose = Settings(_env_file=None)
    for name in sorted(fields):
        default = Settings.model_fields[name].get_default(call_default_factory=True)
        assert getattr(from_compose, name) == default, name
