"""A bare OpenCV reader of the stamped test camera, opened the way the runner's capture opens
streams: how old each frame already is (camera capture → decoded, from the stamp) when a reader
gets it. The runner's events carry the time it read the frame, so this part of camera capture →
event is not in their figures; the benchmark prints it beside them."""

from __future__ import annotations

import os
import threading

import cv2

# Importing a test fixture: the stamp's format is defined once, by the camera that writes it.
from tests.fixtures.stamp import read_stamp, stamp_age_ms

# What worker/cameras/capture.py asks FFmpeg for on RTSP (TCP, no buffering, low delay).
CAPTURE_OPTIONS = "rtsp_transport;tcp|fflags;nobuffer|flags;low_delay"
OPEN_TIMEOUT_MS = 10_000
# The first second after opening waits for a keyframe and drains what the connection held.
SKIPPED_FRAMES = 15


class StampReader(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(name="stamp-reader", daemon=True)
        self.url = url
        self.ages_ms: list[int] = []
        self.error: str | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        # Read by OpenCV at each open; the benchmark process opens no other stream.
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = CAPTURE_OPTIONS
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_N_THREADS, 1]
        capture = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        try:
            if not capture.isOpened():
                self.error = "could not open the stamped stream"
                return
            read = 0
            while not self._stopping.is_set():
                ok, frame = capture.read()
                if not ok:
                    self.error = "the stamped stream ended"
                    return
                read += 1
                stamp = read_stamp(frame)
                if stamp is not None and read > SKIPPED_FRAMES:
                    self.ages_ms.append(stamp_age_ms(stamp))
        finally:
            capture.release()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=15)
