"""What the detectors ask of a detection model, whichever runtime runs it."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

import numpy as np

from worker.inference.nms import Boxes


class DetectionEngine(Protocol):
    """A loaded detection model. `submit` starts one frame's inference and returns at once;
    several frames may be in flight, each future resolves to that frame's boxes in its pixels.
    `ahead`: the frame is one of several a stream keeps in flight, rather than one waited for
    alone, which a runtime may schedule differently (throughput against latency)."""

    names: dict[int, str]
    runtime: str

    def submit(
        self, frame: np.ndarray, conf_floor: float, *, ahead: bool = False
    ) -> Future[Boxes]: ...
