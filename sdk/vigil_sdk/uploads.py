"""Which route a file goes to (image or video) and the content type it is sent with: from its
first bytes, as the API itself decides, or from its name when the bytes say nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["image", "video"]


@dataclass(frozen=True)
class UploadType:
    kind: Kind
    content_type: str


JPEG = UploadType("image", "image/jpeg")
PNG = UploadType("image", "image/png")
MP4 = UploadType("video", "video/mp4")
MOV = UploadType("video", "video/quicktime")
AVI = UploadType("video", "video/x-msvideo")

BY_SUFFIX = {".jpg": JPEG, ".jpeg": JPEG, ".png": PNG, ".mp4": MP4, ".m4v": MP4}
BY_SUFFIX |= {".mov": MOV, ".avi": AVI}
# Top-level atoms a QuickTime file may open with instead of `ftyp`.
QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _from_bytes(head: bytes) -> UploadType | None:
    signatures = (
        (head.startswith(b"\xff\xd8\xff"), JPEG),
        (head.startswith(b"\x89PNG\r\n\x1a\n"), PNG),
        (head[:4] == b"RIFF" and head[8:12] == b"AVI ", AVI),
        (head[4:8] == b"ftyp" and head[8:12] == b"qt  ", MOV),
        (head[4:8] == b"ftyp", MP4),
        (head[4:8] in QUICKTIME_ATOMS, MOV),
    )
    return next((kind for matches, kind in signatures if matches), None)


def upload_type(path: Path) -> UploadType:
    """ValueError for a file that is neither a JPEG/PNG image nor an MP4/MOV/AVI video."""
    with path.open("rb") as handle:
        head = handle.read(16)
    found = _from_bytes(head) or BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise ValueError(f"{path}: not a JPEG, PNG, MP4, MOV or AVI file")
    return found
