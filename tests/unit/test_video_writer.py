from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from worker.video.writer import AnnotatedVideoWriter

FRAMES = 30
SQUARE = 40


def moving_square(width: int, height: int, count: int = FRAMES) -> list[np.ndarray]:
    """A white square crossing a dark frame from left to right, one step per frame."""
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), 30, np.uint8)
        x = index * (width - SQUARE) // (count - 1)
        y = (height - SQUARE) // 2
        frame[y : y + SQUARE, x : x + SQUARE] = 255
        frames.append(frame)
    return frames


def square_centre_x(frame: np.ndarray) -> float:
    bright = np.nonzero(frame.mean(axis=2) > 128)
    return float(bright[1].mean())


def decode_all(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def ffprobe_stream(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=codec_name,pix_fmt,width,height,avg_frame_rate,nb_frames", "-of", "json",
            str(path),
        ],
        capture_output=True, check=True,
    )  # fmt: skip
    stream: dict[str, Any] = json.loads(done.stdout)["streams"][0]
    return stream


def top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append(kind.decode("ascii"))
        offset += size if size >= 8 else len(data)
    return boxes


@pytest.mark.parametrize(
    ("width", "height", "stored"), [(320, 240, (320, 240)), (321, 241, (322, 242))]
)
def test_writes_h264_a_browser_can_play(
    tmp_path: Path, width: int, height: int, stored: tuple[int, int]
) -> None:
    path = tmp_path / "annotated.mp4"
    frames = moving_square(width, height)

    with AnnotatedVideoWriter(path, 12.0, width, height) as writer:
        assert writer.codec == "h264"
        for frame in frames:
            writer.write(frame)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4"]
    stream = ffprobe_stream(path)
    assert stream["codec_name"] == "h264"
    assert stream["pix_fmt"] == "yuv420p"
    # yuv420p needs even sides: an odd frame gains one black row and column.
    assert (stream["width"], stream["height"]) == stored
    assert stream["avg_frame_rate"] == "12/1"
    assert int(stream["nb_frames"]) == FRAMES
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart: playable while downloading

    decoded = decode_all(path)
    assert len(decoded) == FRAMES
    assert decoded[0].shape == (stored[1], stored[0], 3)
    for index in (0, FRAMES // 2, FRAMES - 1):
        assert abs(square_centre_x(decoded[index]) - square_centre_x(frames[index])) < 2


def test_abort_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "annotated.mp4"
    writer = AnnotatedVideoWriter(path, 25.0, 320, 240)
    for frame in moving_square(320, 240)[:10]:
        writer.write(frame)

    writer.abort()
    writer.abort()

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="after close"):
        writer.write(moving_square(320, 240)[0])


def test_an_error_inside_the_block_aborts(tmp_path: Path) -> None:
    def cancelled_job() -> None:
        with AnnotatedVideoWriter(tmp_path / "annotated.mp4", 25.0, 320, 240) as writer:
            writer.write(moving_square(320, 240)[0])
            raise KeyError("job cancelled")

    with pytest.raises(KeyError):
        cancelled_job()
    assert list(tmp_path.iterdir()) == []


def test_a_frame_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with AnnotatedVideoWriter(tmp_path / "a.mp4", 25.0, 320, 240) as writer:
        with pytest.raises(ValueError, match="240x320"):
            writer.write(np.zeros((240, 321, 3), np.uint8))
        writer.write(np.zeros((240, 320, 3), np.uint8))
    assert len(decode_all(tmp_path / "a.mp4")) == 1


def test_an_ffmpeg_failure_raises_with_its_message(tmp_path: Path) -> None:
    path = tmp_path / "missing-dir" / "annotated.mp4"
    writer = AnnotatedVideoWriter(path, 25.0, 320, 240)

    def write_all() -> None:
        # ffmpeg fails on opening its output: seen by a write (broken pipe) or by close().
        for frame in moving_square(320, 240):
            writer.write(frame)
        writer.close()

    with pytest.raises(RuntimeError, match=r"ffmpeg exited \(\d+\).*missing-dir"):
        write_all()
    assert not path.parent.exists()


def test_without_ffmpeg_it_falls_back_to_opencv_mp4v(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "ffmpeg" else which(name))
    path = tmp_path / "annotated.mp4"
    frames = moving_square(321, 241)

    with AnnotatedVideoWriter(path, 12.0, 321, 241) as writer:
        assert writer.codec == "mp4v"
        for frame in frames:
            writer.write(frame)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4"]
    monkeypatch.undo()
    assert ffprobe_stream(path)["codec_name"] == "mpeg4"
    decoded = decode_all(path)
    assert len(decoded) == FRAMES
    assert abs(square_centre_x(decoded[-1]) - square_centre_x(frames[-1])) < 2
