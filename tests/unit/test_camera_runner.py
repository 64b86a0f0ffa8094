"""The camera runner without Postgres: its lease settings are checked at start-up, a camera in
`error` stays there while its capture (a real process over a looping clip) still runs, and a
camera whose lease is no longer fresh may not show a snapshot."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from pydantic import ValidationError

from shared.cameras.params import CameraParams
from shared.db.enums import CameraState
from shared.repositories.camera_leases import ClaimedCamera
from shared.settings import Settings, get_settings
from tests.conftest import MEDIA_DIR
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import CaptureSpec
from worker.cameras.feed import Feed
from worker.cameras.redaction import RedactingFilter
from worker.cameras.runner import FENCE_MARGIN_S, Runner
from worker.cameras.status import StatusTracker

ONE_SECOND_CLIP = MEDIA_DIR / "video" / "traffic_sample2.mp4"


@pytest.mark.parametrize(("lease_s", "renew_s"), [(5.0, 2.0), (4.0, 2.0), (2.0, 1.0)])
def test_a_lease_must_outlast_a_missed_renewal_and_the_fencing_margin(
    lease_s: float, renew_s: float
) -> None:
    with pytest.raises(
        ValidationError, match=r"VIGIL_CAMERA_LEASE_S .* VIGIL_CAMERA_RENEW_INTERVAL_S"
    ):
        Settings(camera_lease_s=lease_s, camera_renew_interval_s=renew_s)


def test_leases_that_outlast_them_pass() -> None:
    assert Settings(camera_lease_s=3.5, camera_renew_interval_s=1.0).camera_lease_s == 3.5
    assert Settings().camera_lease_s == 6.0


def camera(feed: Feed | None = None) -> LiveCamera:
    claimed = ClaimedCamera(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        camera_id="cam",
        name=None,
        stream_url="file:///clip.mp4",
        credentials_enc=None,
        params={},
        generation=1,
        previous_state=CameraState.PENDING,
    )
    return LiveCamera(claimed, CameraParams(), None, (), feed, StatusTracker())


def runner() -> Runner:
    return Runner(get_settings(), capacity=1, log_filter=RedactingFilter())


def test_a_camera_in_error_stays_there_while_its_capture_runs() -> None:
    """Between `error` and the end of its capture, the capture may come online (its first
    frame) or reconnect: the supervisor no longer looks at it."""
    feed = Feed(CaptureSpec(str(ONE_SECOND_CLIP), is_file=True, label="cam"))
    held = camera(feed)
    held.status.failed("analysis failed: boom", time.time())
    supervisor = runner()

    async def supervise_for(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            held.leased_at = time.monotonic()
            await supervisor._supervise_one(held, 10.0)
            await asyncio.sleep(0.1)

    feed.start()
    try:
        asyncio.run(supervise_for(3.0))
        assert feed.latest() is not None, "the capture delivered nothing: nothing was tested"
    finally:
        feed.stop()
    assert held.status.state is CameraState.ERROR
    assert len(supervisor.buffer) == 0, "a status event was announced"


def test_only_a_held_camera_on_a_fresh_lease_may_show_a_snapshot() -> None:
    supervisor = runner()
    held = camera()
    assert supervisor._may_show(held)
    held.leased_at = time.monotonic() - (get_settings().camera_lease_s - FENCE_MARGIN_S) - 0.1
    assert not supervisor._may_show(held)
    held.leased_at = time.monotonic()
    held.held = False
    assert not supervisor._may_show(held)
