"""Health and model inventory, with everything up and with Redis unreachable."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.integration.conftest import api_process


def test_health_reports_every_dependency(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "ok"
    assert checks["workers"]["status"] == "ok"
    assert checks["workers"]["answering"] == 1


def test_models_lists_what_workers_serve(client: httpx.Client, auth: dict[str, str]) -> None:
    assert client.get("/models").status_code == 401
    body = client.get("/models", headers=auth).json()
    assert body["workers_answering"] == 1
    (model,) = body["models"]
    assert model["name"] == "yolov8n_int8_openvino_model"
    assert model["format"] == "openvino"
    assert len(model["classes"]) == 80
    assert model["classes"][0] == "person"
    assert len(model["sha256"]) == 64
    assert len(model["workers"]) == 1


@pytest.fixture
def api_without_redis(stack: LocalStack) -> Iterator[str]:
    with api_process("broken", {"VIGIL_REDIS_URL": "redis://127.0.0.1:1/0"}) as broken:
        yield broken.base_url


def test_health_is_503_naming_the_failed_check_when_redis_is_down(api_without_redis: str) -> None:
    response = httpx.get(f"{api_without_redis}/api/v1/health", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"] == {"status": "down"}
    # The broker is that Redis: the ping is refused or still trying to connect.
    assert body["checks"]["workers"]["status"] in ("down", "timeout")
    assert set(body["checks"]["workers"]) == {"status"}
    # Why it failed (host, port, exception) is for the log, not for anonymous callers.
    assert "127.0.0.1" not in response.text
    assert "Error" not in response.text
