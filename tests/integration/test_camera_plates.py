"""Plates on a live camera: the RTSP test camera plays the dashcam clip (a car with plate
KA22P3368) in a loop; the runner publishes an `anpr` event once the car's plate settles, and,
with the plate on the owner's watchlist, a `watchlist_match` event, both kept in Postgres, and
the plate.watchlist_match webhook with the camera's ids."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from shared.ops.localstack import LocalStack
from tests.conftest import MEDIA_DIR
from tests.integration.camera_runners import (
    Stream,
    registered_cameras,
    stack_runner_ready,
    validate,
)
from tests.integration.conftest import db_fetch

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


PLATE = "KA22P3368"
# Reading plates loads the OCR engine on first use, then needs three agreeing reads.
SETTLE_WITHIN_S = 60.0
# Rows are written by the runner's record tasks, a little after the events are published.
ROWS_WITHIN_S = 10.0


@pytest.fixture
def cameras(client: httpx.Client, auth: dict[str, str]) -> Iterator[Callable[..., dict[str, Any]]]:
    with registered_cameras(client, auth) as register:
        yield register


@pytest.fixture
def dashcam(tmp_path: Path, rtsp_camera_factory: Callable[..., RtspCamera]) -> RtspCamera:
    """The test camera's /cam mount plays the file named cars_street.mp4 in its media folder:
    here, the dashcam clip."""
    video = tmp_path / "media" / "video"
    video.mkdir(parents=True)
    (video / "cars_street.mp4").symlink_to(MEDIA_DIR / "video" / f"dashcam_plate_{PLATE}.mp4")
    return rtsp_camera_factory(mounts=("cam",), media_dir=tmp_path / "media")


def test_a_settled_plate_on_the_watchlist_is_published_recorded_and_sent(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    dashcam: RtspCamera,
    cameras: Callable[..., dict[str, Any]],
) -> None:
    stack_runner_ready(stack)
    entry = client.post("/watchlist", json={"plate": PLATE, "label": "test car"}, headers=auth)
    assert entry.status_code == 201, entry.text
    hook = client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["plate.watchlist_match"]},
        headers=auth,
    )
    assert hook.status_code == 201, hook.text
    camera = cameras(dashcam.url("/cam"), enable_anpr=True)
    stream = Stream(camera["camera_uuid"])

    # The camera joins the looping clip anywhere: a car leaving the picture half-read may settle
    # on a partial plate first. The car's whole plate must come, with its watchlist match.
    anpr = stream.wait(
        lambda e: e.type == "anpr" and e.payload["anpr_result"]["license_plate"] == PLATE,
        "anpr event",
        SETTLE_WITHIN_S,
    )
    match = stream.wait(lambda e: e.type == "watchlist_match", "watchlist match", 5, after=anpr)
    for event in (anpr, match):
        validate(event)
    assert anpr.payload["watchlist"] == {"pattern": PLATE, "label": "test car"}
    assert anpr.payload["vehicle"]["class_name"] in ("car", "truck", "bus")
    assert match.payload["watchlist"] == {"pattern": PLATE, "kind": "exact", "label": "test car"}
    assert match.payload["anpr_event_id"] == anpr.fields["event_id"]

    # The two rows are written by tasks of their own, in either order, and may land a moment
    # after their events are on the stream.
    expected = {
        (anpr.fields["event_id"], "anpr", PLATE),
        (match.fields["event_id"], "watchlist_match", PLATE),
    }
    deadline = time.monotonic() + ROWS_WITHIN_S
    while True:
        rows = db_fetch(
            "SELECT event_id, type, plate FROM camera_events WHERE camera_uuid = $1::uuid"
            " AND type IN ('anpr', 'watchlist_match') AND plate = $2 ORDER BY id",
            camera["camera_uuid"],
            PLATE,
        )
        written = {(str(r["event_id"]), r["type"], r["plate"]) for r in rows}
        if written >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert written >= expected
    (sent,) = db_fetch(
        "SELECT payload FROM webhook_deliveries WHERE endpoint_id = $1::uuid ORDER BY created_at"
        " LIMIT 1",
        hook.json()["id"],
    )
    data = json.loads(sent["payload"])["data"]
    assert data["camera_id"] == camera["camera_id"]
    assert data["camera_uuid"] == camera["camera_uuid"]
    assert data["license_plate"] == PLATE
    assert data["event_id"] == match.fields["event_id"]
