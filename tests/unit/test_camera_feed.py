"""A camera's feed: the state machine on a made-up clock, then real capture processes against a
looping clip and the RTSP test camera stalled, killed and restarted, and sources that the check
before each capture refuses."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from shared.cameras.source import check_file_source, check_stream_address, parse_source
from shared.db.enums import CameraState
from tests.conftest import MEDIA_DIR
from worker.cameras.capture import CaptureSpec
from worker.cameras.feed import (
    WATCHDOG_MARGIN_S,
    Action,
    Feed,
    FeedMachine,
    Observation,
    RateMeter,
    SlidingCount,
    Transition,
    backoff_s,
)

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


ONE_SECOND_CLIP = MEDIA_DIR / "video" / "traffic_sample2.mp4"
PASSWORD = "Pw-58a0c2-feed-must-not-log"
STALL_TIMEOUT_S = 4.0
# Wall-clock times of the made-up clock's transitions: any number does.
WALL = 1_700_000_000.0

ONLINE, RECONNECTING, OFFLINE = CameraState.ONLINE, CameraState.RECONNECTING, CameraState.OFFLINE


def test_backoff_doubles_up_to_ten_seconds() -> None:
    assert [backoff_s(attempt) for attempt in range(1, 8)] == [1, 2, 4, 8, 10, 10, 10]


def test_sliding_count_forgets_after_its_window() -> None:
    count = SlidingCount(3600)
    for at in (0.0, 10.0, 3599.0):
        count.add(at)
    assert count.count(3599.0) == 3
    assert count.count(3600.0) == 2
    assert count.count(7200.0) == 0


def test_rate_meter_follows_the_last_seconds() -> None:
    meter = RateMeter(5.0)
    assert meter.rate() == 0.0
    for tick in range(101):  # 10 s at 30 fps, seen every 100 ms
        meter.add(tick / 10, tick * 3)
    assert meter.rate() == pytest.approx(30.0)
    for tick in range(101, 131):  # then 3 s without a frame
        meter.add(tick / 10, 300)
    assert meter.rate() == pytest.approx(12.0)


class Clock:
    """Drives a FeedMachine as Feed would, the capture's side described by hand."""

    def __init__(self, **timeouts: float) -> None:
        timeouts = {"watchdog_s": 10, "open_timeout_s": 10, "offline_after_s": 60} | timeouts
        self.now = 0.0
        self.machine = FeedMachine(self.now, **timeouts)
        # (when, state, reason) of every transition so far.
        self.history: list[tuple[float, CameraState, str]] = []

    def step(
        self, at: float, frames: int = 0, *, alive: bool = True, error: str | None = None
    ) -> tuple[Action, list[tuple[CameraState, str]]]:
        """A poll with a capture running: `frames` so far, the newest one just now."""
        return self._poll(at, Observation(frames, at if frames else None, alive, error))

    def idle(self, at: float) -> tuple[Action, list[tuple[CameraState, str]]]:
        """A poll while no capture runs."""
        return self._poll(at, None)

    def _poll(
        self, at: float, seen: Observation | None
    ) -> tuple[Action, list[tuple[CameraState, str]]]:
        self.now = at
        decision = self.machine.step(at, seen, WALL + at)
        assert all(change.at == WALL + at for change in decision.transitions)
        changes = [(change.state, change.reason) for change in decision.transitions]
        self.history += [(at, state, reason) for state, reason in changes]
        return decision.action, changes


def test_first_frame_then_a_stall_then_back_online() -> None:
    clock = Clock()
    assert clock.step(0.5) == (Action.NONE, [])
    assert clock.step(1.0, frames=1) == (Action.NONE, [(ONLINE, "first frame")])
    assert clock.machine.state is ONLINE
    assert clock.step(2.0, frames=30) == (Action.NONE, [])
    # The newest frame is from t=2 (Observation's last_frame_at): silent until t=12.
    decision = clock.machine.step(11.9, Observation(30, 2.0, True, None), WALL)
    assert decision.action is Action.NONE
    decision = clock.machine.step(12.0, Observation(30, 2.0, True, None), WALL)
    assert decision.action is Action.KILL
    assert decision.failure == "no frame for 10 s"
    assert decision.transitions == (Transition(RECONNECTING, ONLINE, "no frame for 10 s", WALL),)
    assert clock.idle(12.9) == (Action.NONE, [])
    assert clock.idle(13.0) == (Action.START, [])
    assert clock.step(14.0, frames=1) == (Action.NONE, [(ONLINE, "receiving frames again")])
    assert clock.machine.attempts == 0


def test_failures_back_off_then_go_offline_and_keep_trying() -> None:
    clock = Clock()
    refused = "could not open the stream: Connection refused"
    failed_at = 0.1
    assert clock.step(failed_at, alive=False, error=refused) == (
        Action.RETIRE,
        [(RECONNECTING, refused)],
    )
    for wait in (1, 2, 4, 8, 10, 10, 10, 10, 10):
        assert clock.idle(failed_at + wait - 0.05)[0] is Action.NONE
        assert clock.idle(failed_at + wait)[0] is Action.START
        failed_at += wait + 0.1
        assert clock.step(failed_at, alive=False, error=refused)[0] is Action.RETIRE
    # 60 s after it began reconnecting: at the first poll from 60.1 s on (at 65.85 here).
    ((when, _, reason),) = [entry for entry in clock.history if entry[1] is OFFLINE]
    assert when == pytest.approx(65.85)
    assert reason == "no frames for 60 s"
    assert clock.machine.state is OFFLINE
    # Offline, it is still retried every 10 s; when it comes back it is online, and the next
    # failure is retried after 1 s again.
    assert clock.idle(failed_at + 10) == (Action.START, [])
    assert clock.step(failed_at + 11, frames=1) == (
        Action.NONE,
        [(ONLINE, "receiving frames again")],
    )
    failed_at += 12
    assert clock.step(failed_at, frames=2, alive=False, error="the stream ended")[0] is (
        Action.RETIRE
    )
    assert clock.idle(failed_at + 0.9) == (Action.NONE, [])
    assert clock.idle(failed_at + 1) == (Action.START, [])


def test_a_capture_that_never_delivers_is_killed_after_open_and_stall_timeouts() -> None:
    clock = Clock(open_timeout_s=10, watchdog_s=4)
    assert clock.step(13.9) == (Action.NONE, [])
    assert clock.step(14.0) == (Action.KILL, [(RECONNECTING, "no frame for 14 s")])


def test_frames_then_death_in_one_poll_are_both_reported() -> None:
    clock = Clock()
    assert clock.step(1.0, frames=3, alive=False, error="the stream ended") == (
        Action.RETIRE,
        [(ONLINE, "first frame"), (RECONNECTING, "the stream ended")],
    )


# Real processes from here on.


@pytest.fixture
def make_feed() -> Iterator[Callable[..., Feed]]:
    """make_feed(url, **CaptureSpec fields) → a started feed, stopped after the test."""
    feeds: list[Feed] = []

    def make(url: str, **fields: Any) -> Feed:
        fields.setdefault("is_file", False)
        feed = Feed(CaptureSpec(url, **fields), stall_timeout_s=STALL_TIMEOUT_S)
        feeds.append(feed)
        feed.start()
        return feed

    yield make
    for feed in feeds:
        feed.stop()


def poll_until(feed: Feed, state: CameraState, timeout_s: float) -> tuple[float, list[Transition]]:
    """Poll as the runner does until `state`: how long it took, and the transitions."""
    started = time.monotonic()
    seen: list[Transition] = []
    while time.monotonic() - started < timeout_s:
        seen += feed.poll()
        if feed.state is state:
            return time.monotonic() - started, seen
        time.sleep(0.1)
    pytest.fail(f"still {feed.state} after {timeout_s} s; transitions: {seen}")


def test_a_file_feed_survives_its_capture_being_killed(make_feed: Callable[..., Feed]) -> None:
    feed = make_feed(str(ONE_SECOND_CLIP), is_file=True)
    _, changes = poll_until(feed, ONLINE, 5)
    assert [(change.previous, change.state) for change in changes] == [
        (CameraState.STARTING, ONLINE)
    ]
    time.sleep(1.0)
    feed.poll()
    before = feed.latest()
    assert before is not None
    capture = feed.capture
    assert capture is not None
    assert capture.pid is not None
    os.kill(capture.pid, signal.SIGKILL)
    _, changes = poll_until(feed, RECONNECTING, 2)
    assert changes[-1].reason == "the capture process ended (exit code -9)"
    took, _ = poll_until(feed, ONLINE, 5)
    assert took < 3  # 1 s of backoff, a new process, a first frame
    assert not os.path.exists(f"/proc/{capture.pid}"), "the killed capture was not reaped"
    after = feed.latest(before.index)
    # The new capture counts from 0; the feed's indexes go on rising.
    assert after is not None
    assert after.index > before.index
    time.sleep(1.0)
    feed.poll()
    stats = feed.stats()
    assert (stats.state, stats.resolution, stats.codec) == (ONLINE, "640x360", "h264")
    assert (stats.reconnects_last_hour, stats.stalls_last_hour) == (1, 0)
    assert stats.last_error == "the capture process ended (exit code -9)"
    # Over the last 5 s, of which ~2 were spent reconnecting (RateMeter's own test has the
    # arithmetic).
    assert 5 < stats.fps_in <= 31
    assert stats.last_frame_at is not None
    assert abs(time.time() - stats.last_frame_at) < 1


def test_a_camera_that_stalls_then_dies_is_followed_back_online(
    rtsp_camera_factory: Callable[..., RtspCamera], make_feed: Callable[..., Feed]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    # A read timeout (VIGIL_CAMERA_READ_TIMEOUT_S) under the camera's stall timeout: reads wait
    # for the stall timeout, so a source may stay silent that long without being given up.
    feed = make_feed(camera.url("/cam"), open_timeout_s=5, read_timeout_s=2)
    assert feed.spec.read_timeout_s == STALL_TIMEOUT_S
    poll_until(feed, ONLINE, 10)
    camera.stall()
    # The capture reports the stall itself, before the watchdog would have to kill it.
    took, changes = poll_until(feed, RECONNECTING, STALL_TIMEOUT_S + WATCHDOG_MARGIN_S)
    assert took >= STALL_TIMEOUT_S - 0.5
    assert changes[-1].reason == "the stream sent no frame for 4 s"
    assert feed.stats().stalls_last_hour == 1
    camera.resume()
    poll_until(feed, ONLINE, 5)
    assert feed.latest() is not None
    # Now the camera loses power: connections reset, then refused until it is back.
    camera.kill()
    _, changes = poll_until(feed, RECONNECTING, 2)
    assert changes[-1].reason == "the stream ended"
    deadline = time.monotonic() + 3
    while not (feed.last_error or "").endswith("Connection refused"):
        assert time.monotonic() < deadline, feed.last_error
        feed.poll()
        time.sleep(0.1)
    camera.restart()
    poll_until(feed, ONLINE, 10)
    stats = feed.stats()
    assert stats.stalls_last_hour == 1
    assert stats.reconnects_last_hour >= 3


def test_the_watchdog_kills_a_capture_that_hangs(
    rtsp_camera_factory: Callable[..., RtspCamera], make_feed: Callable[..., Feed]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    feed = make_feed(camera.url("/cam"), open_timeout_s=5, read_timeout_s=2)
    poll_until(feed, ONLINE, 10)
    capture = feed.capture
    assert capture is not None
    assert capture.pid is not None
    # Stopped, the capture process honours no timeout, as one stuck in FFmpeg would not.
    os.kill(capture.pid, signal.SIGSTOP)
    watchdog_s = STALL_TIMEOUT_S + WATCHDOG_MARGIN_S
    took, changes = poll_until(feed, RECONNECTING, watchdog_s + 2)
    assert took >= watchdog_s - 0.5
    assert changes[-1].reason == "no frame for 6 s"
    assert feed.stats().stalls_last_hour == 1
    # Killed at once, without waiting; reaped by a later poll.
    time.sleep(0.2)
    feed.poll()
    assert not os.path.exists(f"/proc/{capture.pid}")


def test_rejected_credentials_keep_being_retried_and_reported(
    rtsp_camera_factory: Callable[..., RtspCamera], make_feed: Callable[..., Feed]
) -> None:
    camera = rtsp_camera_factory(user="admin", password="the-right-one", mounts=["cam"])
    feed = make_feed(camera.url("/cam", credentials=("admin", PASSWORD)), secrets=(PASSWORD,))
    _, changes = poll_until(feed, RECONNECTING, 5)
    reason = "could not open the stream: method DESCRIBE failed: 401 (Unauthorized)"
    assert changes[-1].reason == reason
    assert feed.last_error == reason
    time.sleep(1.5)  # the first retry is 1 s later: it fails the same way
    feed.poll()
    assert feed.stats().reconnects_last_hour >= 1
    assert feed.state is RECONNECTING


def test_a_missing_file_is_retried_until_it_is_there(
    make_feed: Callable[..., Feed], tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    check = partial(check_file_source, parse_source(clip.as_uri()), tmp_path)
    feed = make_feed(str(clip), is_file=True, check=check)
    _, changes = poll_until(feed, RECONNECTING, 2)
    assert changes[-1].reason == "stream_url: no such file under VIGIL_CAMERA_FILE_ROOT"
    shutil.copy(ONE_SECOND_CLIP, clip)
    poll_until(feed, ONLINE, 5)


def test_each_capture_checks_the_address_policy_first(
    rtsp_camera_factory: Callable[..., RtspCamera], make_feed: Callable[..., Feed]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    url = camera.url("/cam")
    allowed = ["127.0.0.0/8"]
    feed = make_feed(url, check=partial(check_stream_address, parse_source(url), allowed))
    poll_until(feed, ONLINE, 10)
    # To the check, a name that now resolves to loopback (DNS rebinding) is the same as the
    # policy no longer allowing the address it had.
    allowed.clear()
    camera.kill()
    poll_until(feed, RECONNECTING, 2)
    camera.restart()
    refused = (
        "stream_url: 127.0.0.1 is a loopback address; cameras there must be allowed by "
        "VIGIL_CAMERA_ALLOWED_NETWORKS"
    )
    deadline = time.monotonic() + 5  # retries after 1 and 2 s: the camera is back meanwhile
    while time.monotonic() < deadline:
        feed.poll()
        assert feed.state is RECONNECTING
        time.sleep(0.1)
    assert feed.last_error == refused
    assert feed.stats().reconnects_last_hour >= 2
