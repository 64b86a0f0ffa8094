"""A camera's frames for the live view: drawn with the header at the bottom (the stamp rows at the
top left untouched), scaled down but never up, paced at `live_fps` on the newest frame (on a
made-up clock, so nothing here depends on how fast the machine is), written by the live frames
thread while the camera is watched and by the analysis thread otherwise, with a real capture
process and the test Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import Lock
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import redis

from shared.cameras.events import viewers_key
from shared.cameras.params import CameraParams
from shared.configured import params_context
from shared.db.enums import CameraState
from shared.params import LineParams, ZoneParams
from shared.repositories.camera_leases import ClaimedCamera
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.fixtures.stamp import STAMP_HEIGHT, read_stamp, stamp_i420
from worker.annotate import draw_frame, track_colour
from worker.cameras.analysis import Analyser, PlateRecord, Session
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import CaptureSpec, Frame
from worker.cameras.feed import Feed
from worker.cameras.frame_slot import FrameSlot
from worker.cameras.live_frames import LATE_SHARE, MIN_WAIT_S, LiveFrames, Pacer
from worker.cameras.overlay import Analysis, clock_millis, header, render, scaled
from worker.cameras.snapshots import SnapshotWriter
from worker.cameras.status import StatusTracker

WIDTH, HEIGHT = 640, 352
STAMP = 0x5A3C_C3A5
CLIP_SIZE, CLIP_FPS = (320, 240), 10


def stamped_frame(stamp: int = STAMP) -> np.ndarray:
    """A grey BGR frame with the stamped camera's stamp in its top-left corner."""
    planes = bytearray([100]) * (WIDTH * HEIGHT) + bytearray([128]) * (WIDTH * HEIGHT // 2)
    stamp_i420(planes, WIDTH, HEIGHT, stamp)
    i420 = np.frombuffer(bytes(planes), np.uint8).reshape(HEIGHT * 3 // 2, WIDTH)
    bgr: np.ndarray = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    return bgr


def analysis(
    detections: tuple[dict[str, Any], ...] = (),
    *,
    zones: tuple[ZoneParams, ...] = (),
    lines: tuple[LineParams, ...] = (),
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Analysis:
    return Analysis(detections, ("people 1 | motion 4.0%",), zones, lines, *size)


def changed_rows(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    rows: np.ndarray = np.flatnonzero(np.any(before != after, axis=(1, 2)))
    return rows


# drawing


def test_scaling_never_enlarges_and_keeps_the_aspect() -> None:
    small = np.zeros((352, 640, 3), np.uint8)
    assert scaled(small, 720) is small
    assert scaled(small, 352) is small
    for (width, height), max_height, expected_width in (
        ((1920, 1080), 720, 1280),
        ((640, 352), 240, 436),
        ((1280, 720), 144, 256),
        ((1001, 1000), 500, 500),
    ):
        out = scaled(np.zeros((height, width, 3), np.uint8), max_height)
        assert out.shape == (max_height, expected_width, 3)
        assert abs(out.shape[1] / out.shape[0] - width / height) < 2 / max_height
        assert out.shape[1] % 2 == 0


def test_scaled_frames_have_even_sides() -> None:
    for (width, height), max_height, expected in (
        ((640, 352), 241, (240, 436)),
        ((641, 361), 720, (360, 640)),
        ((640, 361), 720, (360, 638)),
    ):
        out = scaled(np.zeros((height, width, 3), np.uint8), max_height)
        assert out.shape[:2] == expected


def test_scaling_averages_the_pixels_it_merges() -> None:
    stripes = np.zeros((720, 1280, 3), np.uint8)
    stripes[::2] = 200
    out = scaled(stripes, 360)
    assert np.all(out == 100)


def test_the_band_is_at_the_bottom_left_and_the_stamp_rows_are_left_alone() -> None:
    frame = stamped_frame()
    at = 1_800_000_000.123
    title = header("Gate (north)", at, 4.8)
    assert title == "Gate (north) | 08:00:00.123 UTC | 4.8 fps"

    out = render(frame, analysis(), title, 720)

    rows = changed_rows(frame, out)
    assert rows.min() > HEIGHT // 2, "the band reaches into the upper half"
    assert rows.max() == HEIGHT - 1
    columns = np.flatnonzero(np.any(frame != out, axis=(0, 2)))
    assert columns.min() < 10
    assert np.array_equal(out[:STAMP_HEIGHT], frame[:STAMP_HEIGHT])
    assert read_stamp(out) == STAMP


def test_a_full_analysis_leaves_the_stamp_readable() -> None:
    frame = stamped_frame()
    road = ZoneParams(name="road", polygon=((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)))
    line = LineParams(name="kerb", start=(0.1, 0.6), end=(0.9, 0.6))
    car = {"label": "car", "confidence": 0.91, "bbox": [300, 200, 420, 300], "type": "vehicle"}
    drawn = analysis(({**car, "track_id": 3},), zones=(road,), lines=(line,))

    out = render(frame, drawn, header("gate", time.time(), 5.0), 720)

    assert np.array_equal(out[:STAMP_HEIGHT], frame[:STAMP_HEIGHT])
    assert read_stamp(out) == STAMP
    assert tuple(out[250, 300]) == track_colour(3)


def test_draw_frame_keeps_its_band_at_the_top_unless_told() -> None:
    frame = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
    top = changed_rows(frame, draw_frame(frame, [], [], [], ["people 2"]))
    bottom = changed_rows(frame, draw_frame(frame, [], [], [], ["people 2"], "bottom"))
    assert (top.min(), bottom.max()) == (0, HEIGHT - 1)
    assert top.max() < HEIGHT // 4
    assert bottom.min() > HEIGHT * 3 // 4
    assert len(top) == len(bottom)


def test_boxes_follow_the_picture_when_it_is_scaled() -> None:
    frame = np.full((720, 1280, 3), 100, np.uint8)
    box = {"label": "person", "confidence": 0.8, "bbox": [400, 200, 600, 600], "type": "person"}
    drawn = analysis(({**box, "track_id": 9},), size=(1280, 720))

    out = render(frame, drawn, "gate", 360)

    assert out.shape == (360, 640, 3)
    # The left edge, half-way down the box, at half the analysed coordinates.
    assert tuple(out[200, 200]) == track_colour(9)
    assert tuple(out[200, 400]) != track_colour(9)


def test_clock_millis_is_the_utc_time_of_day() -> None:
    assert clock_millis(1_800_000_000.0) == "08:00:00.000"
    assert clock_millis(1_800_000_059.9994) == "08:00:59.999"


# pacing, on a made-up clock


@dataclass
class Source:
    """Frames that arrive at given times, read as a capture's slot is: the newest one arrived,
    if its index is above the one asked after."""

    arrivals: list[float]
    now: float = 0.0

    def latest(self, after: int) -> Frame | None:
        arrived = [i for i, t in enumerate(self.arrivals) if t <= self.now]
        if not arrived or arrived[-1] <= after:
            return None
        return Frame(np.zeros((1, 1, 3), np.uint8), arrived[-1], self.arrivals[arrived[-1]])


def run_pacer(pacer: Pacer, source: Source, until_s: float, step_s: float = 0.001) -> list[Frame]:
    """Ask the pacer every `step_s` of made-up time, as the thread does at its finest."""
    taken = []
    for tick in range(round(until_s / step_s)):
        source.now = tick * step_s
        frame = pacer.take(source.now, source.latest, source.now)
        if frame is not None:
            taken.append(frame)
    return taken


@dataclass(frozen=True)
class Asked:
    """The pacer asked as the thread asks it: how often, and how long after its capture each
    frame was taken (on the made-up clock)."""

    asks: int
    taken: list[Frame]
    delays_s: list[float]


def run_thread(pacer: Pacer, source: Source, until_s: float) -> Asked:
    """Ask the pacer again when it says asking is worth it, as the thread does."""
    asks, taken, delays = 0, [], []
    while source.now < until_s:
        asks += 1
        frame = pacer.take(source.now, source.latest, source.now)
        if frame is not None:
            taken.append(frame)
            delays.append(source.now - frame.captured_at)
        source.now += pacer.wait_s(source.now)
    return Asked(asks, taken, delays)


def test_the_pacer_takes_the_newest_frame_from_a_real_slot() -> None:
    slot = FrameSlot.create(f"vigil-test-{uuid.uuid4().hex[:8]}", 4, 2, Lock())
    try:

        def latest(after: int) -> Frame | None:
            taken = slot.take(after, 0.05)
            return None if taken is None else Frame(*taken)

        pacer = Pacer.at(10)
        assert pacer.take(0.0, latest, 1000.0) is None  # nothing captured yet
        for index in range(1, 4):
            slot.put(np.full((2, 4, 3), index, np.uint8), index, 1000.0 + index, 0.0)
        first = pacer.take(0.0, latest, 1003.0)
        assert first is not None
        assert (first.index, int(first.image[0, 0, 0])) == (3, 3)
        for index in (4, 5):
            slot.put(np.full((2, 4, 3), index, np.uint8), index, 1000.0 + index, 0.0)
        assert pacer.take(0.05, latest, 1005.05) is None  # newer, but not due yet
        second = pacer.take(0.1, latest, 1005.1)
        assert second is not None
        assert second.index == 5
        assert pacer.take(0.2, latest, 1005.2) is None  # due, but nothing newer
    finally:
        slot.close()
        slot.unlink()


def test_a_fast_source_is_paced_at_live_fps() -> None:
    # Half a frame off the pacer's ticks, so no arrival falls on a due time.
    source = Source([k / 30 + 1 / 60 for k in range(30 * 10)])
    taken = run_pacer(Pacer.at(10), source, 10.0)
    assert len(taken) == 100
    gaps = np.diff([frame.captured_at for frame in taken])
    assert gaps == pytest.approx(np.full(99, 0.1))
    # Each is the newest frame there was when it was taken: three source frames apart.
    assert set(np.diff([frame.index for frame in taken])) == {3}


def test_a_source_at_live_fps_with_jitter_has_every_frame_sent_once() -> None:
    jitter = [0.0, 0.012, -0.009, 0.004, -0.013, 0.008]
    arrivals = [k / 15 + 0.02 + jitter[k % len(jitter)] for k in range(15 * 10)]
    taken = run_pacer(Pacer.at(15), Source(arrivals), 10.1)
    assert [frame.index for frame in taken] == list(range(len(arrivals)))


def test_a_slow_source_has_each_frame_sent_once() -> None:
    arrivals = [k / 4 for k in range(40)]
    taken = run_pacer(Pacer.at(15), Source(arrivals), 10.0)
    assert [frame.index for frame in taken] == list(range(40))


def test_a_late_pacer_does_not_catch_up_in_a_burst() -> None:
    source = Source([k / 30 for k in range(300)])
    pacer = Pacer.at(10)
    assert pacer.take(0.0, source.latest, 0.0) is not None
    source.now = 1.0  # the thread was held up for a second
    assert pacer.take(1.0, source.latest, 1.0) is not None
    source.now = 1.01
    assert pacer.take(1.01, source.latest, 1.01) is None
    assert pacer.wait_s(1.01) == pytest.approx(0.09)


def test_a_slow_source_is_asked_when_its_next_frame_is_due_not_polled() -> None:
    # 4 frames a second against a live_fps of 15: the pacer asks when a frame is due and when
    # the source's next one should be there (about twice a frame), not every few milliseconds
    # in between (about 50 times a frame at 5 ms).
    arrivals = [k / 4 for k in range(40)]
    pacer = Pacer.at(15)
    asked = run_thread(pacer, Source(arrivals), 10.0)
    assert [frame.index for frame in asked.taken] == list(range(40))
    assert pacer.source_interval_s == pytest.approx(0.25)
    assert asked.asks <= 3 * len(arrivals)
    # Each frame is taken when it comes (at worst a LATE_SHARE of the source's interval
    # after), once the source's interval is known: from the second frame on.
    assert max(asked.delays_s[2:]) <= LATE_SHARE * 0.25 + 1e-9


def test_a_late_frame_is_looked_for_at_a_share_of_the_interval() -> None:
    pacer = Pacer.at(15)
    source = Source([0.0, 0.25, 0.5, 0.85])  # the fourth comes 0.1 s late
    run_thread(pacer, source, 0.51)
    assert pacer.source_interval_s == pytest.approx(0.25)
    source.now = 0.6
    assert pacer.take(0.6, source.latest, 0.6) is None
    assert pacer.wait_s(0.6) == pytest.approx(0.15)  # when the source's next frame is due
    source.now = 0.75
    assert pacer.take(0.75, source.latest, 0.75) is None
    assert pacer.wait_s(0.75) == pytest.approx(LATE_SHARE * 0.25)
    assert pacer.wait_s(0.75) >= MIN_WAIT_S


def test_after_a_gap_the_pacer_waits_for_a_few_frames_not_for_the_gap() -> None:
    # 10 frames a second, three seconds without any (a reconnect), then 10 a second again.
    arrivals = [k / 10 for k in range(20)] + [5.0 + k / 10 for k in range(30)]
    asked = run_thread(Pacer.at(15), Source(arrivals), 8.0)
    assert [frame.index for frame in asked.taken] == list(range(50))
    after_gap = asked.delays_s[20:]
    assert max(after_gap) < 0.1, after_gap
    # Nor is the source polled while it sends nothing: a LATE_SHARE of its interval apart.
    assert asked.asks <= 3 * len(arrivals) + 3.0 / (LATE_SHARE * 0.1) + 10


# the threads, with a real capture and the test Redis


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of a square moving over black (the capture plays it in a loop)."""
    path = tmp_path_factory.mktemp("clip") / "square.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), CLIP_FPS, CLIP_SIZE)
    for index in range(3 * CLIP_FPS):
        image = np.zeros((CLIP_SIZE[1], CLIP_SIZE[0], 3), np.uint8)
        x = index * 37 % (CLIP_SIZE[0] - 60)
        image[100:160, x : x + 60] = 255
        writer.write(image)
    writer.release()
    return path


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"])
    yield connection
    connection.close()


@pytest.fixture
def camera(clip: Path) -> Iterator[LiveCamera]:
    """A camera capturing the clip, online, with a small live view (144 px high)."""
    stored = {"enable_object_detection": False, "detect_fps": 10, "live_max_height": 144}
    params = CameraParams.model_validate(stored)
    claimed = ClaimedCamera(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        camera_id="live-square",
        name="Square",
        stream_url="file:///square.avi",
        credentials_enc=None,
        params=stored,
        generation=1,
        previous_state=CameraState.PENDING,
    )
    job = params.job_params(params_context(get_settings()))
    feed = Feed(CaptureSpec(str(clip), is_file=True, label="live-square"))
    live = LiveCamera(claimed, params, job, (), feed, StatusTracker())
    assert live.status.capture_changed(CameraState.ONLINE, "first frame", time.time())
    feed.start()
    try:
        yield live
    finally:
        feed.stop()


def newest(camera: LiveCamera, after: int = -1) -> Frame:
    deadline = time.monotonic() + 30
    while (frame := camera.latest(after)) is None:
        assert time.monotonic() < deadline, "the capture sent no frame"
        time.sleep(0.02)
    return frame


def watch(client: redis.Redis, writer: SnapshotWriter, camera: LiveCamera, on: bool) -> None:
    """Add or remove a viewer and let the writer see it (its check, called here rather than by
    its thread)."""
    key = viewers_key(camera.claimed.id)
    if on:
        client.zadd(key, {"unit-test": time.time() + 30})
    else:
        client.delete(key)
    writer._watched = writer._check_viewers([camera.claimed.id])
    assert writer.watched(camera.claimed.id) is on


def analyser(camera: LiveCamera, writer: SnapshotWriter) -> Analyser:
    def record(_: PlateRecord) -> None:
        raise AssertionError("no plate in this clip")

    return Analyser(
        lambda: [camera],
        emit=lambda event: None,
        record=record,
        snapshots=writer,
        model_info={},
        max_detect_fps=10.0,
        may_show=lambda c: True,
    )


def test_watched_the_analysis_hands_its_result_over_instead_of_writing_a_frame(
    client: redis.Redis, camera: LiveCamera
) -> None:
    writer = SnapshotWriter(client)
    writer.watch(camera.claimed.id)
    thread = analyser(camera, writer)
    try:
        watch(client, writer, camera, True)
        first = newest(camera)
        thread._analyse(Session(camera), first, time.monotonic())
        assert camera.analysis is not None
        assert (camera.analysis.width, camera.analysis.height) == CLIP_SIZE
        assert writer._pending == {}

        watch(client, writer, camera, False)
        unwatched = newest(camera, first.index)
        thread._analyse(Session(camera), unwatched, time.monotonic())
        written = writer._pending[camera.claimed.id]
        assert (written.frame_number, written.captured_at) == (
            unwatched.index,
            unwatched.captured_at,
        )
        assert (written.width, written.height) == (192, 144)
    finally:
        client.delete(viewers_key(camera.claimed.id))


def test_watched_the_live_thread_writes_the_newest_frame_drawn_and_scaled(
    client: redis.Redis, camera: LiveCamera
) -> None:
    writer = SnapshotWriter(client)
    writer.watch(camera.claimed.id)
    shown: list[LiveCamera] = []
    live = LiveFrames(lambda: [camera], snapshots=writer, may_show=lambda c: c in shown)
    try:
        watch(client, writer, camera, True)
        [(watched, pacer)] = live._sync()
        assert watched is camera
        assert pacer.interval_s == pytest.approx(1 / camera.params.live_fps)

        first = newest(camera)
        live._step(camera, pacer)
        assert writer._pending == {}, "drawn before the camera was analysed"
        camera.analysis = Analysis(
            ({"label": "box", "confidence": 0.5, "bbox": [10, 10, 200, 200], "type": "object"},),
            ("people 0",),
            (),
            (),
            *CLIP_SIZE,
        )
        # May not show (let go meanwhile): drawn, not handed over.
        live._step(camera, pacer)
        assert writer._pending == {}
        shown.append(camera)
        later = newest(camera, pacer.last_index)
        pacer.next_due = 0.0
        live._step(camera, pacer)
        written = writer._pending[camera.claimed.id]
        assert written.frame_number >= later.index > first.index
        assert (written.width, written.height) == (192, 144)
        image = cv2.imdecode(np.frombuffer(written.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        assert image.shape == (144, 192, 3)

        watch(client, writer, camera, False)
        assert live._sync() == []
    finally:
        client.delete(viewers_key(camera.claimed.id))
