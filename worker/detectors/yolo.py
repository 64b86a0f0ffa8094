"""One YOLO inference per frame, shared by every detector built on it (`objects`, `people`,
`vehicles`, the persons `faces` searches and the vehicles `plates` reads): each filters the same
raw output by class, score and size."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from worker.detectors.base import Detection
from worker.detectors.models import load_engine
from worker.inference.nms import Boxes

# The lowest score any job may ask for (JobParams bounds confidence to 0.1..0.9). Greedy NMS
# only lets a box suppress lower-scoring ones, so filtering this output at a higher score gives
# exactly the boxes a prediction at that score would.
FLOOR_CONFIDENCE = 0.1
SOURCE = "yolo"
# Frames whose results are kept for detectors still to ask: the few a video loop submits ahead,
# and the frames of the streams a camera runner analyses in turn.
MAX_PENDING = 16


@dataclass(frozen=True)
class YoloOutput:
    xyxy: np.ndarray
    conf: np.ndarray
    cls: np.ndarray
    names: dict[int, str]

    def select(
        self, confidence: float, labels: Collection[str] | None, min_box_size: int
    ) -> list[Detection]:
        detections = []
        for (x1, y1, x2, y2), conf, cls in zip(
            self.xyxy.tolist(), self.conf.tolist(), self.cls.tolist(), strict=True
        ):
            label = self.names[int(cls)]
            if conf < confidence or (labels is not None and label not in labels):
                continue
            if x2 - x1 < min_box_size or y2 - y1 < min_box_size:
                continue
            detections.append(Detection(label, float(conf), x1, y1, x2, y2, source=SOURCE))
        return detections


@dataclass
class _Pending:
    """A frame's inference: held with the frame, so that its id is not reused meanwhile."""

    frame: np.ndarray
    future: Future[Boxes]
    output: YoloOutput | None = None


class YoloRunner:
    """One model, shared by every detector and stream of a process (a camera runner's cameras
    included). Infers once per frame object: a second detector asking about a frame gets the
    same output.

    A video's loop `submit`s the next frames before it processes the current one, so that
    inference runs ahead on the engine's threads while this one tracks and records; `predict`
    then waits for the frame's own result. Results are keyed by the frame array itself (held,
    so its id cannot be reused), which keeps streams analysed in turn, or in threads, apart."""

    def __init__(self, model_name: str) -> None:
        self.engine = load_engine(model_name)
        self._lock = threading.Lock()
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._memo = threading.local()

    def submit(self, frame: np.ndarray) -> None:
        """Start the frame's inference; it is kept until `release`d (or MAX_PENDING later)."""
        with self._lock:
            held = self._pending.get(id(frame))
            if held is not None and held.frame is frame:
                return
            future = self.engine.submit(frame, FLOOR_CONFIDENCE, ahead=True)
            self._pending[id(frame)] = _Pending(frame, future)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)

    def predict(self, frame: np.ndarray) -> YoloOutput:
        """The frame's output: its submitted inference, or one run now. A frame nobody
        submitted (an image, a plate reader's crop) is remembered for the asking thread's next
        call only, so nothing holds it once the thread moves on."""
        with self._lock:
            pending = self._pending.get(id(frame))
        if pending is None or pending.frame is not frame:
            last: _Pending | None = getattr(self._memo, "last", None)
            if last is not None and last.frame is frame:
                pending = last
            else:
                pending = _Pending(frame, self.engine.submit(frame, FLOOR_CONFIDENCE))
                self._memo.last = pending
        if pending.output is None:
            boxes = pending.future.result()
            pending.output = YoloOutput(boxes.xyxy, boxes.conf, boxes.cls, self.engine.names)
        return pending.output

    def release(self, frame: np.ndarray) -> None:
        """Forget the frame's result: the pipeline is done with it."""
        with self._lock:
            pending = self._pending.get(id(frame))
            if pending is not None and pending.frame is frame:
                del self._pending[id(frame)]


@lru_cache
def yolo_runner(model_name: str) -> YoloRunner:
    return YoloRunner(model_name)
