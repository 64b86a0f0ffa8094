"""A claimed camera made ready to start: what makes it unrunnable as configured is an `error`
camera, while what may well be brief (a host that does not resolve, a missing file) is left to
its feed, which keeps retrying. Real captures and name resolution; no database (the cameras here
read no plates, whose watchlist lives there)."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.db.enums import CameraState
from shared.repositories.camera_leases import ClaimedCamera
from shared.settings import get_settings
from tests.conftest import MEDIA_DIR
from worker.cameras.camera import LiveCamera
from worker.cameras.feed import Feed
from worker.cameras.opening import open_camera
from worker.cameras.redaction import RedactingFilter

ONE_SECOND_CLIP = MEDIA_DIR / "video" / "traffic_sample2.mp4"
NOWHERE = "rtsp://vigil-no-such-camera.invalid/cam"
LOOPBACK = "rtsp://127.0.0.1:9/cam"


def claimed(stream_url: str, params: dict[str, Any] | None = None) -> ClaimedCamera:
    return ClaimedCamera(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        camera_id="gate",
        name=None,
        stream_url=stream_url,
        credentials_enc=None,
        params=params or {},
        generation=1,
        previous_state=CameraState.PENDING,
    )


@pytest.fixture
def opened() -> Iterator[list[LiveCamera]]:
    """Cameras opened by a test, their feeds stopped after it."""
    cameras: list[LiveCamera] = []
    yield cameras
    for camera in cameras:
        camera.stop_feed()


def open_one(cameras: list[LiveCamera], row: ClaimedCamera, **settings: Any) -> LiveCamera:
    configured = get_settings().model_copy(update=settings)
    camera = asyncio.run(open_camera(row, configured, RedactingFilter()))
    cameras.append(camera)
    return camera


def reason_once_started(feed: Feed, timeout_s: float = 5.0) -> str | None:
    """Start the feed and poll it, as the runner does, until it is reconnecting: why."""
    feed.start()
    deadline = time.monotonic() + timeout_s
    while feed.state is not CameraState.RECONNECTING:
        assert time.monotonic() < deadline, f"still {feed.state}"
        feed.poll()
        time.sleep(0.1)
    return feed.last_error


def test_a_plate_region_of_the_servers_formats_opens(opened: list[LiveCamera]) -> None:
    params = {
        "detectors": ["objects", {"kind": "plates", "region": "xx"}],
        # The region is validated all the same; reading no plates keeps the watchlist (and so
        # the database) out of this test.
        "enable_anpr": False,
    }
    formats = {"xx": ["^[A-Z]{2}[0-9]{4}$"]}
    camera = open_one(opened, claimed(LOOPBACK, params), plate_formats=formats)
    assert camera.error is None
    assert camera.feed is not None
    # Where the region is not configured, the camera cannot run as configured.
    camera = open_one(opened, claimed(LOOPBACK, params))
    assert camera.error == (
        "parameters: detectors.1.plates.region: Value error, unknown plate region 'xx' "
        "(known: uk, in, eu, us)"
    )


def test_an_address_the_policy_refuses_is_an_error(opened: list[LiveCamera]) -> None:
    camera = open_one(opened, claimed(LOOPBACK), camera_allowed_networks=[])
    assert camera.error == (
        "stream_url: 127.0.0.1 is a loopback address; cameras there must be allowed by "
        "VIGIL_CAMERA_ALLOWED_NETWORKS"
    )
    assert camera.feed is None


def test_a_host_that_does_not_resolve_is_retried(opened: list[LiveCamera]) -> None:
    camera = open_one(opened, claimed(NOWHERE))
    assert camera.error is None
    assert camera.feed is not None
    assert reason_once_started(camera.feed) == (
        "stream_url: cannot resolve the host vigil-no-such-camera.invalid"
    )


def test_a_missing_file_is_retried_and_a_file_outside_the_root_is_an_error(
    opened: list[LiveCamera], tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    camera = open_one(opened, claimed(clip.as_uri()), camera_file_root=tmp_path)
    assert camera.error is None
    assert camera.feed is not None
    assert reason_once_started(camera.feed) == (
        "stream_url: no such file under VIGIL_CAMERA_FILE_ROOT"
    )
    shutil.copy(ONE_SECOND_CLIP, clip)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    camera = open_one(opened, claimed(clip.as_uri()), camera_file_root=elsewhere)
    assert (
        camera.error == "stream_url: file:// cameras must play a file under VIGIL_CAMERA_FILE_ROOT"
    )
    camera = open_one(opened, claimed(clip.as_uri()), camera_file_root=None)
    assert camera.error == (
        "stream_url: file:// cameras are turned off (VIGIL_CAMERA_FILE_ROOT is not set)"
    )
