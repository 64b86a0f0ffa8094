"""The interface every detector implements; the analysis pipeline knows only this.

A detector is stateless: `detect` depends on the frame and its config alone, so one instance
serves every stream of a process (the registry caches one per config). What a stream must
remember between frames belongs to an analyser (worker/engine/analysers/), built per pipeline.
A detector's config is its parameter class from shared/params.py (the API validates the same
schema), resolved with the job's defaults, frozen and hashable."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np

from shared.params import DETECTOR_PARAMS, DetectorParams

# What a box is to the analytics. An `object` is tracked, and counted by zones, lines and crowd;
# a `part` of one (a face, a plate) is never counted, or its owner would count twice; a
# `measurement` (a moving region) has no identity: not tracked, counted nor in the statistics.
Role = Literal["object", "part", "measurement"]


@dataclass(frozen=True, slots=True)
class Detection:
    """One box in pixels. `source` names the model that found it (`yolo`, `hog`, `yolo+hog`,
    `haar`, `motion`); `attributes` carries detector-specific facts (e.g. a HOG score)."""

    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float
    source: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def iou(self, other: Detection) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def suppress_overlaps(detections: Sequence[Detection], max_iou: float) -> list[Detection]:
    """Greedy non-maximum suppression: the highest-scoring box wins each overlapping group."""
    kept: list[Detection] = []
    for detection in sorted(detections, key=lambda d: d.confidence, reverse=True):
        if all(detection.iou(other) <= max_iou for other in kept):
            kept.append(detection)
    return kept


class FrameModel(Protocol):
    """A model a detector runs on whole frames, which a video loop can start ahead of time."""

    def submit(self, frame: np.ndarray) -> None:
        """Start inferring `frame`; the detector's `detect` on it then waits for the result."""

    def release(self, frame: np.ndarray) -> None:
        """Forget `frame`'s result: every detector has had it."""


ConfigT = TypeVar("ConfigT", bound=DetectorParams)


class Detector(ABC, Generic[ConfigT]):
    kind: ClassVar[str]
    role: ClassVar[Role] = "object"
    # Where boxes of two detectors coincide, the one merged first is kept: lower goes first.
    merge_priority: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is not None and kind not in DETECTOR_PARAMS:
            raise TypeError(
                f"{cls.__name__}.kind {kind!r} has no parameter class in shared/params.py"
            )

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @property
    def frame_model(self) -> FrameModel | None:
        """The whole-frame model `detect` waits on, if any (shared by the detectors using it)."""
        return None

    @abstractmethod
    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Detections in one BGR frame."""
