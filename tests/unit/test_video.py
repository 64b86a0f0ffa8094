from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import CARS_MP4, PEDESTRIANS, mp4_without_video
from worker.errors import MediaError
from worker.video.probe import probe_video
from worker.video.reader import read_frames


def test_probe_counts_real_frames_not_the_header() -> None:
    info = probe_video(PEDESTRIANS)
    assert (info.width, info.height) == (1280, 720)
    assert info.frame_count == 341
    assert info.header_frame_count == 682
    assert info.fps == 25.0
    assert info.frame_count_source == "packets"


def test_reader_skips_and_stops() -> None:
    frames = list(read_frames(CARS_MP4, frame_skip=10, max_frames=4))
    assert [index for index, _ in frames] == [0, 10, 20, 30]
    assert frames[0][1].shape == (352, 640, 3)
    assert len(list(read_frames(CARS_MP4))) == probe_video(CARS_MP4).frame_count == 321


def test_undecodable_video_raises_media_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(mp4_without_video())
    with pytest.raises(MediaError, match="could not decode video"):
        list(read_frames(path))
