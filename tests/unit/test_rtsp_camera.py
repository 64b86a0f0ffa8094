"""The RTSP test camera against a real reader: OpenCV over TCP with open and read timeouts, as the
camera runners read cameras."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from tests.fixtures.stamp import read_stamp, stamp_age_ms

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 3000
# Distinctive, so that finding it anywhere is a leak.
PASSWORD = "Pw-6f1c2e-not-for-logs"

Frame = cv2.typing.MatLike


@pytest.fixture(autouse=True)
def _tcp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


@pytest.fixture
def capture() -> Iterator[Callable[[str], cv2.VideoCapture]]:
    """open(url) → a capture with timeouts, released after the test."""
    opened: list[cv2.VideoCapture] = []

    def open_(url: str) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(
            url,
            cv2.CAP_FFMPEG,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS,
             cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS],
        )  # fmt: skip
        opened.append(cap)
        return cap

    yield open_
    for cap in opened:
        cap.release()


def read(cap: cv2.VideoCapture, count: int) -> list[Frame]:
    frames: list[Frame] = []
    for _ in range(count):
        ok, frame = cap.read()
        assert ok, f"read failed after {len(frames)} frames"
        frames.append(frame)
    return frames


def test_cam_serves_the_street_at_640x352(
    rtsp_camera: RtspCamera, capture: Callable[[str], cv2.VideoCapture]
) -> None:
    cap = capture(rtsp_camera.url("/cam"))
    assert cap.isOpened()
    frames = read(cap, 45)
    assert {frame.shape for frame in frames} == {(352, 640, 3)}
    assert not np.array_equal(frames[0], frames[-1]), "the picture never moves"
    # The clip has no stamp: read_stamp tells picture content from a stamp.
    assert {read_stamp(frame) for frame in frames} == {None}


def test_two_clients_read_cam_at_once_and_hd_is_720p(
    rtsp_camera: RtspCamera, capture: Callable[[str], cv2.VideoCapture]
) -> None:
    first, second = capture(rtsp_camera.url("/cam")), capture(rtsp_camera.url("/cam"))
    hd = capture(rtsp_camera.url("/hd"))
    for _ in range(10):
        assert read(first, 1)[0].shape == read(second, 1)[0].shape == (352, 640, 3)
    assert read(hd, 1)[0].shape == (720, 1280, 3)


def test_stamped_frames_carry_their_capture_time(
    rtsp_camera: RtspCamera, capture: Callable[[str], cv2.VideoCapture]
) -> None:
    cap = capture(rtsp_camera.url("/stamped"))
    # Past the burst that opening the stream leaves buffered.
    read(cap, 30)
    stamps = [read_stamp(frame) for frame in read(cap, 15)]
    assert None not in stamps
    ages = [stamp_age_ms(stamp) for stamp in stamps if stamp is not None]
    assert all(0 <= age < 2000 for age in ages), ages
    gaps = np.diff([stamp for stamp in stamps if stamp is not None])
    # 15 fps: a frame every 67 ms, give or take the pacing of the camera's thread.
    assert 50 < float(np.median(gaps)) < 85, gaps


def test_credentials_are_required_and_stay_out_of_the_log(
    rtsp_camera_factory: Callable[..., RtspCamera], capture: Callable[[str], cv2.VideoCapture]
) -> None:
    camera = rtsp_camera_factory(user="admin", password=PASSWORD, mounts=["cam"])
    assert PASSWORD in camera.url("/cam")
    # Through the environment: `ps` shows command lines to every user.
    assert PASSWORD not in Path(f"/proc/{camera.pid}/cmdline").read_text()
    assert not capture(camera.url("/cam", credentials=("admin", "wrong"))).isOpened()
    assert not capture(camera.url("/cam", credentials=False)).isOpened()
    cap = capture(camera.url("/cam"))
    assert cap.isOpened()
    assert read(cap, 1)[0].shape == (352, 640, 3)
    camera.stop()
    assert camera.returncode == 0
    assert PASSWORD not in camera.log_path.read_text()


def test_a_stall_fails_reads_within_the_timeout_and_resume_recovers(
    rtsp_camera_factory: Callable[..., RtspCamera], capture: Callable[[str], cv2.VideoCapture]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    cap = capture(camera.url())
    read(cap, 5)
    camera.stall()
    started = time.monotonic()
    # Frames already in the client's buffers come first; then reads must fail.
    while cap.read()[0]:
        assert time.monotonic() - started < 15, "reads did not fail on a stalled camera"
    assert time.monotonic() - started < 15
    camera.resume()
    assert read(capture(camera.url()), 5)[0].shape == (352, 640, 3)


def test_kill_and_restart_on_the_same_url(
    rtsp_camera_factory: Callable[..., RtspCamera], capture: Callable[[str], cv2.VideoCapture]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    url = camera.url()
    cap = capture(url)
    read(cap, 5)
    camera.kill()
    started = time.monotonic()
    while cap.read()[0]:
        assert time.monotonic() - started < 5, "reads did not fail on a killed camera"
    assert time.monotonic() - started < 5
    assert not capture(url).isOpened()
    camera.restart()
    assert camera.url() == url
    assert read(capture(url), 5)[0].shape == (352, 640, 3)


def test_a_stopped_camera_refuses_at_once(
    rtsp_camera_factory: Callable[..., RtspCamera], capture: Callable[[str], cv2.VideoCapture]
) -> None:
    camera = rtsp_camera_factory(mounts=["cam"])
    camera.stop()
    assert camera.returncode == 0
    started = time.monotonic()
    assert not capture(camera.url()).isOpened()
    assert time.monotonic() - started < 2


def test_a_server_that_cannot_start_says_why(
    rtsp_camera_factory: Callable[..., RtspCamera], tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="did not start") as raised:
        rtsp_camera_factory(media_dir=tmp_path, mounts=["cam"])
    assert "cars_street.mp4" in str(raised.value)
