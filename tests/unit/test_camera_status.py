"""A held camera's state: the capture's transitions, `degraded` when analysis cannot keep up for
long, `error` until the API changes the camera, and which changes make camera.online and
camera.offline webhooks."""

from __future__ import annotations

import pytest

from shared.db.enums import CameraState
from worker.cameras.status import (
    DEGRADED_AFTER_S,
    StatusChange,
    StatusTracker,
    abandoned_webhook,
)

S = CameraState


def online() -> StatusTracker:
    tracker = StatusTracker()
    assert tracker.capture_changed(S.ONLINE, "first frame", 0.0) is not None
    return tracker


def test_the_capture_s_transitions_are_the_camera_s() -> None:
    tracker = StatusTracker()
    change = tracker.capture_changed(S.ONLINE, "first frame", 1.0)
    assert change == StatusChange(S.ONLINE, S.STARTING, "first frame", 1.0)
    assert tracker.capture_changed(S.ONLINE, "again", 2.0) is None
    change = tracker.capture_changed(S.RECONNECTING, "no frame for 10 s", 3.0)
    assert change is not None
    assert (change.previous, change.state) == (S.ONLINE, S.RECONNECTING)


def test_slow_analysis_degrades_only_after_a_while_and_recovers() -> None:
    tracker = online()
    assert tracker.analysis_rate(3.0, 5.0, 100.0) is None  # under 80 %: the clock starts
    assert tracker.analysis_rate(3.0, 5.0, 100.0 + DEGRADED_AFTER_S - 1) is None
    degraded = tracker.analysis_rate(3.0, 5.0, 100.0 + DEGRADED_AFTER_S)
    assert degraded is not None
    assert degraded.state is S.DEGRADED
    assert "3.0 frames/s of the 5" in degraded.reason
    # The capture staying online does not hide the degradation.
    assert tracker.capture_changed(S.ONLINE, "frames", 200.0) is None
    recovered = tracker.analysis_rate(4.0, 5.0, 201.0)
    assert recovered is not None
    assert (recovered.previous, recovered.state) == (S.DEGRADED, S.ONLINE)


def test_a_rate_that_recovers_in_time_restarts_the_clock() -> None:
    tracker = online()
    tracker.analysis_rate(1.0, 5.0, 0.0)
    tracker.analysis_rate(5.0, 5.0, DEGRADED_AFTER_S - 1)
    assert tracker.analysis_rate(1.0, 5.0, DEGRADED_AFTER_S + 1) is None
    assert tracker.state is S.ONLINE


def test_a_camera_that_is_not_up_is_never_degraded() -> None:
    tracker = StatusTracker()
    assert tracker.analysis_rate(0.0, 5.0, 0.0) is None
    assert tracker.analysis_rate(0.0, 5.0, DEGRADED_AFTER_S * 2) is None
    assert tracker.state is S.STARTING


def test_failure_is_an_error_state_once() -> None:
    tracker = online()
    change = tracker.failed("analysis failed: boom", 5.0)
    assert change is not None
    assert change.state is S.ERROR
    assert tracker.failed("again", 6.0) is None


@pytest.mark.parametrize(
    ("previous", "state", "webhook"),
    [
        (S.STARTING, S.ONLINE, "camera.online"),  # the first time
        (S.RECONNECTING, S.ONLINE, "camera.online"),  # back after an outage
        (S.OFFLINE, S.ONLINE, "camera.online"),
        (S.DEGRADED, S.ONLINE, None),  # it never went away
        (S.ONLINE, S.RECONNECTING, "camera.offline"),
        (S.DEGRADED, S.OFFLINE, "camera.offline"),
        (S.RECONNECTING, S.OFFLINE, None),  # down already
        (S.STARTING, S.RECONNECTING, None),  # never came up
        (S.ONLINE, S.DEGRADED, None),
        (S.ONLINE, S.STOPPED, None),
    ],
)
def test_webhooks_go_with_coming_up_and_going_down(
    previous: CameraState, state: CameraState, webhook: str | None
) -> None:
    assert StatusChange(state, previous, "why", 0.0).webhook() == webhook


def test_a_camera_in_error_stays_there_whatever_its_capture_does() -> None:
    tracker = online()
    tracker.failed("analysis failed: boom", 5.0)
    # Its capture, not stopped yet, reconnects and delivers again: still `error`.
    assert tracker.capture_changed(S.RECONNECTING, "no frame for 3 s", 6.0) is None
    assert tracker.capture_changed(S.ONLINE, "first frame", 7.0) is None
    assert tracker.analysis_rate(0.0, 5.0, 8.0 + DEGRADED_AFTER_S) is None
    assert tracker.state is S.ERROR


@pytest.mark.parametrize(
    ("previous", "webhook"),
    [
        (S.ONLINE, "camera.offline"),
        (S.DEGRADED, "camera.offline"),
        (S.STARTING, None),  # never came up
        (S.RECONNECTING, None),  # said it was down already
    ],
)
def test_a_dead_runner_s_camera_that_was_up_goes_offline(
    previous: CameraState, webhook: str | None
) -> None:
    assert abandoned_webhook(previous) == webhook
