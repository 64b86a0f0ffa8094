"""OpenCV's Haar cascades (faces, plates), from the data folder its 4.x wheels ship."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2

from worker.errors import ModelUnavailableError


def cascade_path(file_name: str) -> Path:
    # opencv-python 5 drops cv2.data along with the cascades (and the stubs never had it).
    data = getattr(cv2, "data", None)
    if data is None:
        raise ModelUnavailableError(
            f"this OpenCV ({cv2.__version__}) ships no Haar cascades; install opencv-python<5"
        )
    return Path(data.haarcascades) / file_name


def load_cascade(path: Path) -> cv2.CascadeClassifier:
    """The cascade at `path`; OpenCV reports a missing or broken file only as an empty one."""
    try:
        cascade = cv2.CascadeClassifier(str(path))
    except (AttributeError, cv2.error) as exc:
        raise ModelUnavailableError(f"cannot load the Haar cascade {path}: {exc}") from exc
    if cascade.empty():
        raise ModelUnavailableError(f"cannot load the Haar cascade {path} (missing or corrupt)")
    return cascade


@cache
def haar_cascade(file_name: str) -> cv2.CascadeClassifier:
    """One of OpenCV's cascades, loaded once per process: detection keeps no state in it."""
    return load_cascade(cascade_path(file_name))
