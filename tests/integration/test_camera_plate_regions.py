"""A camera whose plates detector names a region of this server's VIGIL_PLATE_FORMATS is
registered, changed and read back like any other: every validation of its parameters knows the
server's regions."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.integration.conftest import api_process, signup_and_signin

FORMATS = {"xx": ["^[A-Z]{2}[0-9]{4}$"], "uk": ["^[A-Z]{2}[0-9]{2}[A-Z]{3}$"]}


@pytest.fixture(scope="module")
def regional_api(stack: LocalStack) -> Iterator[httpx.Client]:
    """An API whose plate formats add the region `xx`, on the shared database."""
    env = {"VIGIL_PLATE_FORMATS": json.dumps(FORMATS)}
    with (
        api_process("plate-regions", env) as api,
        httpx.Client(base_url=f"{api.base_url}/api/v1", timeout=60) as http,
    ):
        yield http


def test_a_camera_with_a_configured_region_is_registered_changed_and_read_back(
    regional_api: httpx.Client,
) -> None:
    auth = signup_and_signin(regional_api)
    parameters = {"detectors": [{"kind": "plates", "region": "xx"}], "max_fps": 30}
    body = {
        "camera_id": "gate-plates",
        "stream_url": "rtsp://127.0.0.1:8554/cam",
        "status": "inactive",
        "parameters": parameters,
    }
    created = regional_api.post("/cameras", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["parameters"]["detectors"][0]["region"] == "xx"
    replaced = regional_api.put("/cameras/gate-plates", json=body, headers=auth)
    assert replaced.status_code == 200, replaced.text
    patched = regional_api.patch(
        "/cameras/gate-plates", json={"parameters": parameters}, headers=auth
    )
    assert patched.status_code == 200, patched.text
    unknown = {"detectors": [{"kind": "plates", "region": "zz"}]}
    refused = regional_api.patch("/cameras/gate-plates", json={"parameters": unknown}, headers=auth)
    assert refused.status_code == 422
    assert "unknown plate region" in refused.text
    shown = regional_api.get("/cameras/gate-plates", headers=auth)
    assert shown.status_code == 200, shown.text
    assert shown.json()["parameters"]["detectors"][0]["region"] == "xx"
    assert shown.json()["warnings"] == [
        "analysis capped at 10 frames per second (asked for 30; VIGIL_CAMERA_MAX_DETECT_FPS)"
    ]
    listed = regional_api.get("/cameras", headers=auth)
    assert listed.status_code == 200, listed.text
    assert [item["camera_id"] for item in listed.json()["items"]] == ["gate-plates"]
