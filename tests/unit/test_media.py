from __future__ import annotations

from pathlib import Path

import pytest

from shared.media import AVI, JPEG, MOV, MP4, PNG, check_video_structure, sniff
from tests.media import BUS, CARS_MP4, PEDESTRIANS, PLATE_PNG, box, mp4_without_video


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
