"""The capture process against real sources: clips from ../shared/media played in a loop, the
RTSP test camera, and ports and hosts where nothing answers. Real processes throughout."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from shared.cameras.source import check_file_source, check_stream_address, parse_source
from shared.ops.localstack import free_port
from tests.conftest import MEDIA_DIR, REPO_ROOT
from tests.fixtures.stamp import read_stamp, stamp_age_ms
from worker.cameras.capture import Capture, CaptureInfo, CaptureSpec, Frame, ffmpeg_options
from worker.cameras.capture_child import fourcc_text, frame_interval

if TYPE_CHECKING:
    from tests.fixtures.rtsp_camera import RtspCamera


# 30 frames of 640x360 at 30 fps: one second, so a loop shows quickly.
ONE_SECOND_CLIP = MEDIA_DIR / "video" / "traffic_sample2.mp4"
# Distinctive, so that finding it anywhere is a leak.
PASSWORD = "Pw-3b7e1d-capture-must-not-log"
# What a capture may never load: models, the database, the project's settings.
HEAVY = ("torch", "ultralytics", "openvino", "tortoise", "asyncpg", "pydantic", "shared", "api")


@pytest.fixture
def start() -> Iterator[Callable[..., Capture]]:
    """start(url, is_file=…, **CaptureSpec fields) → a started capture, stopped after the test."""
    captures: list[Capture] = []

    def start_(url: str, **fields: Any) -> Capture:
        fields.setdefault("is_file", False)
        capture = Capture(CaptureSpec(url, **fields))
        captures.append(capture)
        capture.start()
        return capture

    yield start_
    for capture in captures:
        capture.stop()


def first_frame(capture: Capture, timeout_s: float = 10.0) -> Frame:
    deadline = time.monotonic() + timeout_s
    while (frame := capture.latest()) is None:
        assert capture.alive(), f"the capture ended: {capture.error()}"
        assert time.monotonic() < deadline, "no frame"
        time.sleep(0.02)
    return frame


def wait_until_ended(capture: Capture, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while capture.alive():
        assert time.monotonic() < deadline, "the capture is still running"
        time.sleep(0.05)


def decode_all(path: Path) -> list[npt.NDArray[Any]]:
    reader = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    while (read := reader.read())[0]:
        frames.append(read[1])
    reader.release()
    return frames


def slot_of(pid: int) -> str:
    """The shared memory the capture process has mapped, as /proc shows it."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    (line,) = {line.split(maxsplit=5)[-1] for line in maps if "/dev/shm/vigil-capture-" in line}
    return line


def test_a_file_plays_at_its_own_rate_and_loops_past_its_end(
    start: Callable[..., Capture],
) -> None:
    capture = start(str(ONE_SECOND_CLIP), is_file=True)
    first = first_frame(capture)
    assert capture.info == CaptureInfo(640, 360, 30.0, "h264")
    assert capture.info.resolution == "640x360"
    time.sleep(1.5)
    last = capture.latest(first.index)
    assert last is not None
    assert last.index >= 38, "the 30-frame clip did not loop"
    assert capture.alive()
    assert capture.error() is None
    # Capture times are the paced ones: 30 per second of wall clock.
    rate = (last.index - first.index) / (last.captured_at - first.captured_at)
    assert 26 <= rate <= 31, rate
    assert abs(time.time() - last.captured_at) < 0.5


def test_latest_hands_over_the_newest_frame_whole(start: Callable[..., Capture]) -> None:
    expected = decode_all(ONE_SECOND_CLIP)
    assert len(expected) == 30
    capture = start(str(ONE_SECOND_CLIP), is_file=True)
    previous = first_frame(capture)
    for _ in range(4):
        time.sleep(0.3)
        asked = time.perf_counter()
        frame = capture.latest(previous.index)
        assert time.perf_counter() - asked < 0.05
        assert frame is not None
        # ~9 frames were decoded meanwhile: the reader gets the last, none queue up.
        assert frame.index >= previous.index + 5
        assert frame.index >= capture.frames - 3
        # The frame with that index, every pixel of it: no half-written frame, no mix-up.
        assert np.array_equal(frame.image, expected[frame.index % len(expected)])
        previous = frame
    assert capture.latest(after=capture.frames + 1000) is None
    # The image is the caller's copy.
    previous.image[:] = 0
    newest = capture.latest()
    assert newest is not None
    assert newest.image.any()


def test_stop_reaps_the_child_and_leaves_no_shared_memory(start: Callable[..., Capture]) -> None:
    capture = start(str(ONE_SECOND_CLIP), is_file=True)
    first_frame(capture)
    assert capture.pid is not None
    pid = capture.pid
    # Unlinked as soon as both sides had it mapped: nothing to leak however the child ends.
    assert slot_of(pid).endswith(" (deleted)")
    asked = time.monotonic()
    capture.stop()
    assert time.monotonic() - asked < 2
    assert not capture.alive()
    assert capture.error() is None
    assert not Path(f"/proc/{pid}").exists(), "not reaped"
    assert capture.latest() is None
    assert capture.frames == 0


def test_a_killed_child_is_noticed_and_reaped(start: Callable[..., Capture]) -> None:
    capture = start(str(ONE_SECOND_CLIP), is_file=True)
    first_frame(capture)
    assert capture.pid is not None
    os.kill(capture.pid, signal.SIGKILL)
    wait_until_ended(capture, timeout_s=2)
    assert capture.error() == "the capture process ended (exit code -9)"
    capture.stop()
    assert not Path(f"/proc/{capture.pid}").exists()


def test_a_refused_stream_fails_without_showing_the_password(
    start: Callable[..., Capture],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="worker.cameras")
    url = f"rtsp://admin:{PASSWORD}@127.0.0.1:{free_port()}/cam"
    capture = start(url, secrets=(PASSWORD, "admin"), open_timeout_s=3)
    wait_until_ended(capture)
    error = capture.error()
    assert error is not None
    assert error.startswith("could not open the stream: Connection to tcp://127.0.0.1:")
    assert error.endswith("Connection refused")
    # The child's own output came through (redacted), none of it on this process's streams.
    assert "Connection refused" in caplog.text
    streams = capfd.readouterr()
    everything = error + caplog.text + streams.out + streams.err + repr(capture.spec)
    assert PASSWORD not in everything
    assert "admin" not in everything


def test_what_the_child_prints_is_redacted(
    start: Callable[..., Capture],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # FFmpeg prints a host it cannot resolve: a secret there shows that its output is redacted.
    host = "pw-9d41-unresolvable"
    caplog.set_level(logging.DEBUG, logger="worker.cameras")
    capture = start(f"rtsp://admin:{PASSWORD}@{host}.invalid/cam", secrets=(PASSWORD, host))
    wait_until_ended(capture)
    assert capture.error() == (
        "could not open the stream: Failed to resolve hostname ***.invalid: "
        "Name or service not known"
    )
    assert "Failed to resolve hostname ***.invalid" in caplog.text
    streams = capfd.readouterr()
    assert host not in caplog.text + streams.out + streams.err


def test_a_stream_capture_refuses_to_read_files(start: Callable[..., Capture]) -> None:
    capture = start(str(ONE_SECOND_CLIP))
    wait_until_ended(capture)
    assert capture.error() == (
        "could not open the stream: Protocol 'file' not on whitelist 'rtsp,rtsps,rtp,srtp,udp,"
        "tcp,tls'!"
    )


def test_a_missing_file_is_reported(start: Callable[..., Capture], tmp_path: Path) -> None:
    capture = start(str(tmp_path / "gone.mp4"), is_file=True)
    wait_until_ended(capture)
    assert (capture.error() or "").startswith("could not open the video file")


def test_a_source_its_check_refuses_starts_no_process(
    start: Callable[..., Capture], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="worker.cameras")
    host = "pw-51c2-unresolvable"
    url = f"rtsp://admin:{PASSWORD}@{host}.invalid/cam"
    check = partial(check_stream_address, parse_source(url), [])
    capture = start(url, secrets=(PASSWORD, host), check=check)
    wait_until_ended(capture)
    assert capture.error() == "stream_url: cannot resolve the host ***.invalid"
    assert capture.pid is None
    # FFmpeg never tried: nothing of it was logged.
    assert "Failed to resolve hostname" not in caplog.text
    capture.stop()
    assert capture.error() == "stream_url: cannot resolve the host ***.invalid"


def test_a_source_its_check_allows_is_opened(start: Callable[..., Capture]) -> None:
    source = parse_source(ONE_SECOND_CLIP.as_uri())
    check = partial(check_file_source, source, ONE_SECOND_CLIP.parent)
    capture = start(str(ONE_SECOND_CLIP), is_file=True, check=check)
    assert first_frame(capture).image.shape == (360, 640, 3)


def test_a_capture_stopped_while_checking_its_source_starts_no_process(
    start: Callable[..., Capture],
) -> None:
    # A name server that takes a second to answer.
    capture = start(str(ONE_SECOND_CLIP), is_file=True, check=partial(time.sleep, 1.0))
    assert capture.alive()
    asked = time.monotonic()
    capture.stop()
    assert time.monotonic() - asked < 0.1, "stop() waited for the check"
    assert not capture.alive()
    time.sleep(1.5)
    assert capture.pid is None
    assert capture.latest() is None
    assert capture.error() is None


def test_the_capture_process_loads_no_model_library(start: Callable[..., Capture]) -> None:
    # What the child imports: the spawn bootstrap and the module its target lives in.
    code = (
        "import sys, multiprocessing.spawn, worker.cameras.capture_child\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    modules = done.stdout.split()
    assert "cv2" in modules
    assert [name for name in modules if name.split(".")[0] in HEAVY] == []
    # And a real capture process has none of their native libraries mapped.
    capture = start(str(ONE_SECOND_CLIP), is_file=True)
    first_frame(capture)
    maps = Path(f"/proc/{capture.pid}/maps").read_text()
    assert "cv2" in maps
    for library in ("libtorch", "openvino", "_pydantic_core", "asyncpg"):
        assert library not in maps


def test_ffmpeg_options_hold_ffmpeg_to_camera_protocols() -> None:
    stream = ffmpeg_options(CaptureSpec("rtsp://cam/1", is_file=False, transport="udp"))
    assert stream == (
        "rtsp_transport;udp|fflags;nobuffer|flags;low_delay|"
        "protocol_whitelist;rtsp,rtsps,rtp,srtp,udp,tcp,tls"
    )
    assert ffmpeg_options(CaptureSpec("/videos/a.mp4", is_file=True)) == "protocol_whitelist;file"


def test_fourcc_and_file_frame_intervals() -> None:
    assert fourcc_text(cv2.VideoWriter.fourcc(*"h264")) == "h264"
    assert fourcc_text(cv2.VideoWriter.fourcc(*"HEVC")) == "hevc"
    assert fourcc_text(0) == ""
    assert frame_interval(None, 0.0, 30.0) == pytest.approx(1 / 30)
    assert frame_interval(40.0, 80.0, 50.0) == pytest.approx(0.04)  # timestamps over the header
    assert frame_interval(13600.0, 0.0, 50.0) == pytest.approx(0.02)  # a broken last timestamp
    assert frame_interval(0.0, 5000.0, 0.0) == pytest.approx(1 / 25)  # neither makes sense


def test_an_rtsp_camera_delivers_its_frames(
    rtsp_camera: RtspCamera, start: Callable[..., Capture]
) -> None:
    capture = start(rtsp_camera.url("/cam"))
    first = first_frame(capture)
    assert first.image.shape == (352, 640, 3)
    assert capture.info == CaptureInfo(640, 352, 30.0, "h264")
    time.sleep(1.0)
    last = capture.latest(first.index)
    assert last is not None
    assert 20 <= (last.index - first.index) / (last.captured_at - first.captured_at) <= 40


def test_rtsp_over_udp(rtsp_camera: RtspCamera, start: Callable[..., Capture]) -> None:
    capture = start(rtsp_camera.url("/cam"), transport="udp")
    assert first_frame(capture).image.shape == (352, 640, 3)


def test_stamped_frames_reach_the_runner_fast(
    rtsp_camera: RtspCamera, start: Callable[..., Capture]
) -> None:
    capture = start(rtsp_camera.url("/stamped"))
    previous = first_frame(capture)
    # Past the burst that opening the stream leaves buffered.
    time.sleep(0.5)
    ages = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        frame = capture.latest(previous.index)
        if frame is None:
            time.sleep(0.005)
            continue
        stamp = read_stamp(frame.image)
        assert stamp is not None
        # From the camera's clock to the capture's read(): the same clock on this machine.
        ages.append(stamp_age_ms(stamp, int(frame.captured_at * 1000)))
        previous = frame
    assert len(ages) >= 15
    assert 0 <= float(np.median(ages)) < 300, sorted(ages)


def test_rejected_credentials_are_reported_without_them(
    rtsp_camera_factory: Callable[..., RtspCamera],
    start: Callable[..., Capture],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="worker.cameras")
    camera = rtsp_camera_factory(user="admin", password="the-right-one", mounts=["cam"])
    capture = start(
        camera.url("/cam", credentials=("admin", PASSWORD)), secrets=(PASSWORD, "admin")
    )
    wait_until_ended(capture)
    error = capture.error()
    assert error == "could not open the stream: method DESCRIBE failed: 401 (Unauthorized)"
    assert PASSWORD not in caplog.text
