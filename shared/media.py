"""Decide what an upload is from its bytes, never its name, and check a video's container
structure without decoding it (the API carries no OpenCV or ffmpeg)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shared.db.enums import JobKind

SNIFF_BYTES = 16


@dataclass(frozen=True)
class MediaFormat:
    name: str
    kind: JobKind
    content_type: str
    suffix: str


JPEG = MediaFormat("jpeg", JobKind.IMAGE, "image/jpeg", ".jpg")
PNG = MediaFormat("png", JobKind.IMAGE, "image/png", ".png")
MP4 = MediaFormat("mp4", JobKind.VIDEO, "video/mp4", ".mp4")
MOV = MediaFormat("mov", JobKind.VIDEO, "video/quicktime", ".mov")
AVI = MediaFormat("avi", JobKind.VIDEO, "video/x-msvideo", ".avi")
SUPPORTED = "JPEG, PNG, MP4, AVI or MOV"

# Top-level atoms a QuickTime file may open with when it has no `ftyp`.
_QT_LEADING_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def sniff(head: bytes) -> MediaFormat | None:
    """The format of a file from its first bytes, or None when it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[4:8] == b"ftyp":
        return MOV if head[8:12] == b"qt  " else MP4
    if head[4:8] in _QT_LEADING_ATOMS:
        return MOV
    return None


def _walk_boxes(handle: BinaryIO, size: int) -> set[bytes]:
    """Types of the top-level ISO-BMFF boxes; ValueError when a box runs past the end."""
    seen: set[bytes] = set()
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(8)
        if len(header) < 8:
            raise ValueError("truncated box header")
        length, box_type = struct.unpack(">I4s", header)
        if length == 1:
            large = handle.read(8)
            if len(large) < 8:
                raise ValueError("truncated box header")
            (length,) = struct.unpack(">Q", large)
        elif length == 0:
            length = size - offset
        if length < 8 or offset + length > size:
            raise ValueError("box runs past the end of the file")
        seen.add(box_type)
        offset += length
    return seen


def _walk_riff(handle: BinaryIO, size: int) -> set[bytes]:
    """LIST types inside an AVI's RIFF chunk; ValueError when the file is cut short."""
    handle.seek(4)
    (riff_size,) = struct.unpack("<I", handle.read(4))
    if riff_size + 8 > size:
        raise ValueError("RIFF chunk runs past the end of the file")
    seen: set[bytes] = set()
    offset = 12
    end = riff_size + 8
    while offset + 8 <= end:
        handle.seek(offset)
        chunk_id, length = struct.unpack("<4sI", handle.read(8))
        if offset + 8 + length > end:
            raise ValueError("chunk runs past the end of the file")
        if chunk_id == b"LIST":
            seen.add(handle.read(4))
        offset += 8 + length + (length & 1)
    return seen


def check_video_structure(path: Path, fmt: MediaFormat) -> str | None:
    """Why the container cannot be a playable video, or None when its structure holds up."""
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            if fmt is AVI:
                lists = _walk_riff(handle, size)
                missing = {b"hdrl", b"movi"} - lists
            else:
                boxes = _walk_boxes(handle, size)
                missing = {b"moov"} - boxes
                if not boxes & {b"mdat", b"moof"}:
                    missing.add(b"mdat")
    except (ValueError, struct.error) as exc:
        return f"the {fmt.name.upper()} file is truncated or corrupt ({exc})"
    if missing:
        names = ", ".join(sorted(m.decode("latin-1") for m in missing))
        return f"the {fmt.name.upper()} file has no {names} section; it holds no playable video"
    return None
