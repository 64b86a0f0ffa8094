from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile_media import disguise_mp4_size, ffmpeg_clip, huge_h264_mp4
from tests.media import CARS_MP4, PEDESTRIANS, mp4_without_video
from worker.errors import MediaError
from worker.video.probe import check_limits, probe_video
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


def test_the_probe_reads_the_stream_not_what_the_container_claims(tmp_path: Path) -> None:
    """F-06: boxes that claim 640x360 hide 8000x8000 frames from the API; the worker's probe
    reads the stream's own parameters and refuses it before a frame is decoded."""
    path = tmp_path / "lie.mp4"
    path.write_bytes(disguise_mp4_size(huge_h264_mp4(tmp_path / "big.mp4"), 640, 360))
    info = probe_video(path)
    assert (info.width, info.height, info.codec) == (8000, 8000, "h264")
    with pytest.raises(MediaError, match=r"8000x8000.*VIGIL_MAX_VIDEO_PIXELS"):
        check_limits(info)


def test_codec_the_container_cannot_tell_is_refused_by_the_probe(tmp_path: Path) -> None:
    """MPEG-2 in an MP4 uses the `mp4v` sample entry, as MPEG-4 Part 2 does."""
    path = tmp_path / "mpeg2.mp4"
    ffmpeg_clip(path, "64x64", 2, "mpeg2video")
    info = probe_video(path)
    assert info.codec == "mpeg2video"
    with pytest.raises(MediaError, match=r"\(mpeg2video\).*VIGIL_VIDEO_CODECS"):
        check_limits(info)


def test_sample_videos_are_within_the_limits() -> None:
    for path in (CARS_MP4, PEDESTRIANS):
        check_limits(probe_video(path))


def test_reader_stops_on_frames_beyond_the_limits() -> None:
    """A stream can grow or outrun its count after the probe looked at its start."""
    with pytest.raises(MediaError, match="more than 100 frames"):
        list(read_frames(CARS_MP4, max_decoded=100))
    with pytest.raises(MediaError, match="frame 0 is 640x352"):
        list(read_frames(CARS_MP4, max_pixels=640 * 352 - 1))
    assert len(list(read_frames(CARS_MP4, max_decoded=321, max_pixels=640 * 352))) == 321
