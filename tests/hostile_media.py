"""Hostile media made on the spot with ffmpeg and zlib: videos beyond the limits, videos whose
container lies about their stream, and an image that is cheap to send and dear to decode."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path


def ffmpeg_clip(path: Path, size: str, frames: int, codec: str = "libx264", *extra: str) -> bytes:
    """A black clip of `frames` frames at 1 fps, `size` as WxH, encoded with `codec`."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"color=c=black:s={size}:r=1:d={frames}",
            "-c:v", codec, *extra, str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path.read_bytes()


def huge_h264_mp4(path: Path, side: int = 8000, frames: int = 3) -> bytes:
    """The audit's attack: an H.264 MP4 of about 190 KB whose frames are side x side."""
    return ffmpeg_clip(
        path, f"{side}x{side}", frames, "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"
    )


def _box_start(data: bytes, box_type: bytes, after: int = 0) -> int:
    index = data.index(box_type, after) - 4
    assert index >= 0
    return index


def disguise_mp4_size(data: bytes, width: int, height: int) -> bytes:
    """The MP4 with its track header and sample description claiming width x height: only the
    stream's own parameter sets (in `avcC`) still tell the real size."""
    patched = bytearray(data)
    tkhd = _box_start(data, b"tkhd")
    (length,) = struct.unpack(">I", data[tkhd : tkhd + 4])
    struct.pack_into(">II", patched, tkhd + length - 8, width << 16, height << 16)
    entry = _box_start(data, b"avc1", _box_start(data, b"stsd"))
    struct.pack_into(">HH", patched, entry + 8 + 24, width, height)
    return bytes(patched)


def truncated_png(width: int = 7000, height: int = 7000) -> bytes:
    """An RGBA PNG of zeros, about 190 KB at 7000x7000, whose last rows are missing: valid
    chunks, so it is decoded almost to the end (width x height x 4 bytes) before it fails."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 4)
    pixels = b"".join(compressor.compress(row) for _ in range(height - 8))
    pixels += compressor.flush(zlib.Z_SYNC_FLUSH)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
