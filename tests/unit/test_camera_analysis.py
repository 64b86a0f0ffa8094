"""The runner's analysis thread, with real pipelines (motion only: no model to load), real capture
processes over a made-up clip and the test Redis: a pipeline is rebuilt only when the camera's
target rate really moves, one camera whose output keeps failing goes to `error` while the
thread goes on with the others, and a snapshot is not handed over once its camera may no longer
show one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import redis

from shared.cameras.events import frame_key
from shared.cameras.params import CameraParams
from shared.configured import params_context
from shared.db.enums import CameraState
from shared.repositories.camera_leases import ClaimedCamera
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from worker.cameras.analysis import Analyser, PlateRecord, Session
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import CaptureSpec, Frame
from worker.cameras.events import BusEvent
from worker.cameras.feed import Feed
from worker.cameras.snapshots import SnapshotWriter
from worker.cameras.status import StatusTracker

MOTION_ONLY = {"enable_object_detection": False, "detect_fps": 10}
CAP = 10.0
WIDTH, HEIGHT, SIDE = 320, 240, 80
CLIP_FPS = 10


def square(index: int) -> np.ndarray:
    """A white square on black, somewhere else in every frame: motion in any two of them."""
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x = index * 53 % (WIDTH - SIDE)
    image[80 : 80 + SIDE, x : x + SIDE] = 255
    return image


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of the moving square (the capture plays it in a loop)."""
    path = tmp_path_factory.mktemp("clip") / "square.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), CLIP_FPS, (WIDTH, HEIGHT))
    for index in range(5 * CLIP_FPS):
        writer.write(square(index))
    writer.release()
    return path


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    yield connection
    connection.close()


@dataclass(eq=False)
class Tuned(LiveCamera):
    """A camera whose target rate the test sets (as the source's measured rate would)."""

    target: float = 5.0

    def target_fps(self, cap: float) -> float:
        return self.target


def claimed(name: str, params: dict[str, Any] = MOTION_ONLY) -> ClaimedCamera:
    return ClaimedCamera(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        camera_id=name,
        name=None,
        stream_url="file:///square.avi",
        credentials_enc=None,
        params=params,
        generation=1,
        previous_state=CameraState.PENDING,
    )


def online(camera: LiveCamera) -> LiveCamera:
    assert camera.status.capture_changed(CameraState.ONLINE, "first frame", time.time())
    return camera


def live(name: str, feed: Feed | None = None, cls: type[LiveCamera] = LiveCamera) -> LiveCamera:
    params = CameraParams.model_validate(MOTION_ONLY)
    job = params.job_params(params_context(get_settings()))
    return online(cls(claimed(name), params, job, (), feed, StatusTracker()))


def analyser(
    cameras: Callable[[], list[LiveCamera]],
    emit: Callable[[BusEvent], None],
    snapshots: SnapshotWriter,
    may_show: Callable[[LiveCamera], bool] = lambda camera: True,
) -> Analyser:
    def record(_: PlateRecord) -> None:
        raise AssertionError("no plate in these clips")

    return Analyser(
        cameras,
        emit=emit,
        record=record,
        snapshots=snapshots,
        model_info={},
        max_detect_fps=CAP,
        may_show=may_show,
    )


def frame(index: int) -> Frame:
    return Frame(square(index), index, 1_800_000_000.0 + index / CLIP_FPS)


def test_the_pipeline_is_rebuilt_only_when_the_target_rate_really_moves(
    client: redis.Redis,
) -> None:
    camera = live("tuned", cls=Tuned)
    assert isinstance(camera, Tuned)
    thread = analyser(lambda: [camera], lambda event: None, SnapshotWriter(client))
    session = Session(camera)

    thread._analyse(session, frame(0), time.monotonic())
    first = session.pipeline
    assert first is not None
    assert session.pipeline_fps == 5.0
    session.tracks[7] = ("car", (0.1, 0.1, 0.2, 0.2))

    camera.target = 5.5  # a measured rate that wobbles: the tracks are kept
    thread._analyse(session, frame(1), time.monotonic())
    assert session.pipeline is first
    assert 7 in session.tracks

    camera.target = 8.0  # the source's rate is known now: tuned to it, its tracks start over
    due = session.next_due
    started = time.monotonic()
    thread._analyse(session, frame(2), started)
    assert session.pipeline is not first
    assert session.pipeline_fps == 8.0
    assert session.epoch == frame(2).captured_at
    assert session.tracks == {}
    # The rhythm goes on at the new rate.
    assert session.next_due == pytest.approx(max(due + 1.0 / 8.0, started))


def test_a_camera_whose_events_keep_failing_goes_to_error_and_the_others_go_on(
    clip: Path, client: redis.Redis
) -> None:
    feeds = {name: Feed(CaptureSpec(str(clip), is_file=True, label=name)) for name in ("a", "b")}
    good, bad = (live(name, feed) for name, feed in feeds.items())
    published: list[BusEvent] = []

    def emit(event: BusEvent) -> None:
        if event.ref.camera_id == bad.claimed.camera_id:
            raise RuntimeError("a bug in the event's making")
        published.append(event)

    thread = analyser(lambda: [good, bad], emit, SnapshotWriter(client))
    for feed in feeds.values():
        feed.start()
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while bad.failure is None:
            assert time.monotonic() < deadline, "the failing camera was never put in error"
            assert thread.is_alive()
            time.sleep(0.1)
        analysed_then = len(published)
        time.sleep(2.0)
        assert thread.is_alive()
        assert len(published) > analysed_then, "the other camera was not analysed any more"
    finally:
        thread.stop()
        for feed in feeds.values():
            feed.stop()
    assert bad.failure == "its frames could not be handled: a bug in the event's making"
    assert good.failure is None


def test_no_snapshot_is_handed_over_once_its_camera_may_not_show_one(client: redis.Redis) -> None:
    kept, gone = live("kept"), live("gone")
    writer = SnapshotWriter(client)
    for camera in (kept, gone):
        writer.watch(camera.claimed.id)
    thread = analyser(lambda: [kept, gone], lambda event: None, writer, lambda c: c is kept)
    writer.start()
    try:
        for camera in (kept, gone):
            thread._analyse(Session(camera), frame(0), time.monotonic())
        deadline = time.monotonic() + 5
        while not client.exists(frame_key(kept.claimed.id)):
            assert time.monotonic() < deadline, "the held camera's snapshot was not written"
            time.sleep(0.05)
        assert not client.exists(frame_key(gone.claimed.id))
    finally:
        writer.stop()
        client.delete(*(frame_key(camera.claimed.id) for camera in (kept, gone)))
