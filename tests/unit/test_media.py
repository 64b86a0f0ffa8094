from __future__ import annotations

from pathlib import Path

import pytest

from shared.media import (
    AVI,
    JPEG,
    MAX_BOXES,
    MOV,
    MP4,
    PNG,
    VideoFacts,
    check_video_structure,
    read_video_container,
    sniff,
    video_limit_problem,
)
from tests.hostile_media import ffmpeg_clip, huge_h264_mp4
from tests.media import (
    BUS,
    CARS_MP4,
    DASHCAM_PLATE,
    PEDESTRIANS,
    PLATE_PNG,
    box,
    mp4_without_video,
)


@pytest.mark.parametrize(
    ("path", "expected"), [(BUS, JPEG), (PLATE_PNG, PNG), (PEDESTRIANS, AVI), (CARS_MP4, MP4)]
)
def test_sniff_real_files(path: Path, expected: object) -> None:
    assert sniff(path.read_bytes()[:16]) is expected


def test_sniff_quicktime_and_unknowns() -> None:
    assert sniff(box(b"ftyp", b"qt  \x00\x00\x00\x00")[:16]) is MOV
    assert sniff(b"\x00\x00\x00\x08wide\x00\x00\x00\x00") is MOV
    for unknown in (b"GIF89a", b"%PDF-1.7", b"", b"RIFF\x00\x00\x00\x00WAVEfmt "):
        assert sniff(unknown) is None


@pytest.mark.parametrize(("path", "fmt"), [(PEDESTRIANS, AVI), (CARS_MP4, MP4)])
def test_real_videos_pass_structure_check_and_truncated_ones_fail(
    tmp_path: Path, path: Path, fmt: object
) -> None:
    assert check_video_structure(path, fmt) is None  # type: ignore[arg-type]
    cut = tmp_path / "cut"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    problem = check_video_structure(cut, fmt)  # type: ignore[arg-type]
    assert problem is not None
    assert "truncated" in problem


def test_mp4_without_moov_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(box(b"ftyp", b"isom\x00\x00\x00\x00") + box(b"mdat", b"\x00" * 100))
    problem = check_video_structure(path, MP4)
    assert problem is not None
    assert "moov" in problem
    path.write_bytes(mp4_without_video())
    assert check_video_structure(path, MP4) is None  # well-formed boxes: the worker decides


@pytest.mark.parametrize(
    ("path", "fmt", "expected"),
    [
        (CARS_MP4, MP4, VideoFacts(640, 352, ("h264",), 321, 10.7)),
        (DASHCAM_PLATE, MP4, VideoFacts(552, 530, ("h264",), 138, 4.6046)),
        # The AVI header claims twice the frames that decode: the larger count is the one held.
        (PEDESTRIANS, AVI, VideoFacts(1280, 720, ("h264",), 682, 13.64)),
    ],
)
def test_container_facts_of_the_sample_videos(
    path: Path, fmt: object, expected: VideoFacts
) -> None:
    container = read_video_container(path, fmt)  # type: ignore[arg-type]
    assert container.problem is None
    assert container.streams == [expected]
    assert video_limit_problem(expected) is None


def test_huge_frames_are_seen_in_the_container(tmp_path: Path) -> None:
    """F-06: a 190 KB MP4 of 8000x8000 frames is refused from its boxes alone."""
    path = tmp_path / "big.mp4"
    assert len(huge_h264_mp4(path)) < 250_000
    (stream,) = read_video_container(path, MP4).streams
    assert (stream.width, stream.height, stream.frame_count) == (8000, 8000, 3)
    problem = video_limit_problem(stream)
    assert problem is not None
    assert "8000x8000" in problem
    assert "VIGIL_MAX_VIDEO_PIXELS" in problem


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "extra"),
    [
        ("clip.avi", AVI, "ffv1", ()),
        ("clip.mov", MOV, "prores", ("-c:v", "prores_ks")),
        ("clip.mov", MOV, "rawvideo", ("-c:v", "rawvideo", "-pix_fmt", "uyvy422")),
    ],
)
def test_codecs_off_the_allow_list_are_refused(
    tmp_path: Path, name: str, fmt: object, codec: str, extra: tuple[str, ...]
) -> None:
    path = tmp_path / name
    ffmpeg_clip(path, "64x64", 2, extra[1] if extra else codec, *extra[2:])
    (stream,) = read_video_container(path, fmt).streams  # type: ignore[arg-type]
    assert stream.codecs == (codec,)
    problem = video_limit_problem(stream)
    assert problem is not None
    assert f"({codec})" in problem
    assert "VIGIL_VIDEO_CODECS" in problem


def test_fragmented_mp4_frames_are_counted_in_their_fragments(tmp_path: Path) -> None:
    path = tmp_path / "frag.mp4"
    ffmpeg_clip(path, "64x64", 12, "libx264", "-g", "3", "-movflags", "frag_keyframe+empty_moov")
    (stream,) = read_video_container(path, MP4).streams
    assert stream.frame_count == 12


def test_frame_duration_and_decoded_pixel_limits() -> None:
    assert "VIGIL_MAX_VIDEO_FRAMES" in str(video_limit_problem(VideoFacts(frame_count=108_001)))
    assert "VIGIL_MAX_VIDEO_DURATION_S" in str(video_limit_problem(VideoFacts(duration_s=14_401)))
    # 100,000 frames of 1080p decode 207 gigapixels; max_frames stops the decoding early.
    long_hd = VideoFacts(1920, 1080, ("h264",), 100_000)
    assert "VIGIL_MAX_VIDEO_DECODED_PIXELS" in str(video_limit_problem(long_hd))
    assert video_limit_problem(long_hd, frame_skip=10, max_frames=9_000) is None
    # Skipped frames are decoded all the same.
    assert video_limit_problem(long_hd, frame_skip=20, max_frames=9_000) is not None


def test_a_flood_of_empty_boxes_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "flood.mp4"
    path.write_bytes(box(b"ftyp", b"isom\x00\x00\x00\x00") + box(b"free", b"") * (MAX_BOXES + 1))
    problem = check_video_structure(path, MP4)
    assert problem is not None
    assert f"more than {MAX_BOXES} boxes" in problem
