"""Media for tests: the shared samples, ultralytics' bundled photos, and made-up bad files."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

from tests.conftest import MEDIA_DIR

PEDESTRIANS = MEDIA_DIR / "video" / "pedestrians_vtest.avi"
CARS_MP4 = MEDIA_DIR / "video" / "cars_street.mp4"
PARKING_LOT = MEDIA_DIR / "images" / "parking_lot.jpg"
PLATE_PNG = MEDIA_DIR / "images" / "car_plate_DZ17YXR.png"
PLATE_JPG = MEDIA_DIR / "images" / "car_plate_SN66XMZ.jpg"
DASHCAM_PLATE = MEDIA_DIR / "video" / "dashcam_plate_KA22P3368.mp4"


def ultralytics_asset(name: str) -> Path:
    """`bus.jpg` (4 people, a bus) and `zidane.jpg` (2 people) ship inside ultralytics."""
    spec = importlib.util.find_spec("ultralytics")
    assert spec is not None
    assert spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "assets" / name


BUS = ultralytics_asset("bus.jpg")
ZIDANE = ultralytics_asset("zidane.jpg")


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_without_video() -> bytes:
    """Boxes in order (ftyp, moov, mdat) but no decodable track: passes the container check."""
    return (
        box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + box(b"moov", b"\x00" * 64)
        + box(b"mdat", b"\x13\x37" * 4096)
    )


def jpeg_garbage(size: int = 4096) -> bytes:
    """A JPEG signature followed by noise: sniffs as JPEG, decodes as nothing."""
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * (size // 256)


def walking_person_clip(path: Path, *, leftwards: bool = False, frames: int = 48) -> Path:
    """An H.264 clip of one person (cut out of bus.jpg) walking across a plain 640x360 scene
    from left to right (or right to left) in 4 seconds: ground truth for crossings and zones."""
    import cv2
    import numpy as np

    from worker.video.writer import AnnotatedVideoWriter

    bus = cv2.imread(str(BUS))
    assert bus is not None
    person = bus[398:905, 50:241]
    height = 220
    person = cv2.resize(person, (round(person.shape[1] * height / person.shape[0]), height))
    width = person.shape[1]
    scene = np.full((360, 640, 3), 150, np.uint8)
    scene[300:] = 110  # a floor, so the frame is not one flat colour
    with AnnotatedVideoWriter(path, 12.0, 640, 360) as writer:
        for i in range(frames):
            x = 20 + round((640 - width - 40) * i / (frames - 1))
            if leftwards:
                x = 640 - width - x
            frame = scene.copy()
            frame[110 : 110 + height, x : x + width] = person
            writer.write(frame)
    return path


def mostly_still_clip(
    path: Path, *, source: Path = CARS_MP4, moving_s: float = 3.0, still_s: float = 8.0
) -> Path:
    """What a surveillance camera mostly records: `still_s` seconds of a frozen street, then
    `moving_s` seconds of real traffic, then `still_s` frozen again, with sensor grain on every
    frame and H.264's compression noise, so that no two frames are equal."""
    import subprocess

    filters = (
        f"tpad=start_mode=clone:start_duration={still_s}:stop_mode=clone:stop_duration={still_s},"
        "noise=alls=4:allf=t"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", str(moving_s), "-i", str(source), "-vf", filters,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path
