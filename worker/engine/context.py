"""What the pipeline and its analysers share about one frame (`FrameContext`) or about the end
of the stream (`StreamContext`), and the frame's public records built from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.contracts import object_type
from worker.detectors.base import Detection, Role
from worker.engine.outputs import FrameResult, PlateSettled, TimelineEvent, WatchMatch

# Boxes of the same label from two detectors (YOLO persons from `objects` and `people`,
# say) overlapping this much are one object.
DUPLICATE_IOU = 0.7

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in 0..1 of the frame


def merge_duplicates(found: list[tuple[str, Detection]]) -> list[tuple[str, Detection]]:
    """Drop a box that repeats one another detector already reported (same label, IoU ≥
    DUPLICATE_IOU). A detector's own boxes went through its NMS and are never compared."""
    kept: list[tuple[str, Detection]] = []
    by_label: dict[str, list[tuple[str, Detection]]] = {}
    for kind, detection in found:
        earlier = by_label.setdefault(detection.label, [])
        if not any(
            other_kind != kind and other.iou(detection) >= DUPLICATE_IOU
            for other_kind, other in earlier
        ):
            kept.append((kind, detection))
            earlier.append((kind, detection))
    return kept


@dataclass(frozen=True, slots=True)
class FrameObject:
    """A detection as zones and lines see it: normalised box, tracked identity when known."""

    index: int  # position in the frame's observations
    label: str
    track_id: int | None
    bbox: Box

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom centre of the box: where the object stands on the ground."""
        x1, _, x2, y2 = self.bbox
        return ((x1 + x2) / 2.0, y2)


@dataclass(slots=True)
class Observation:
    """One detection of the frame, as the analysers read it and fill it in."""

    kind: str  # the detector that reported it; a plate reading's is `plates`
    detection: Detection
    box: Box
    role: Role
    track_id: int | None = None
    zones: list[str] = field(default_factory=list)
    kept: bool = True  # False: left out of the frame's record (outside every zone, roi_only)

    @property
    def label(self) -> str:
        return self.detection.label


# Attributes an analyser adds to every record of the frame (motion's `is_moving`).
Annotator = Callable[[Observation], Mapping[str, Any]]


class StreamContext:
    """What analysers make known at one point of the stream: a frame, or the stream's end."""

    def __init__(self, frame_index: int, timestamp: float) -> None:
        self.frame_index = frame_index
        self.timestamp = timestamp
        self.events: list[TimelineEvent] = []
        self.matches: list[WatchMatch] = []
        self.plates: list[PlateSettled] = []

    def result(self, detections: list[dict[str, Any]], metrics: dict[str, Any]) -> FrameResult:
        return FrameResult(
            frame_index=self.frame_index,
            timestamp=self.timestamp,
            detections=detections,
            metrics=metrics,
            events=self.events,
            matches=self.matches,
            plates=self.plates,
        )


class FrameContext(StreamContext):
    """One frame on its way through the pipeline, in two steps. First detectors and analysers
    `report` the boxes they find; the pipeline's `merge` then makes them `observations`, in
    the order of `kinds` (the merge order) with duplicates dropped. Then the analysers read the
    observations and fill them in (track ids, zones), add what they derive (plate readings),
    metrics and events, and `annotate` every record."""

    def __init__(
        self, frame_index: int, timestamp: float, frame: np.ndarray, kinds: Sequence[str]
    ) -> None:
        super().__init__(frame_index, timestamp)
        self.frame = frame
        self.height, self.width = frame.shape[:2]
        self.observations: list[Observation] = []
        self.metrics: dict[str, Any] = {}
        # Set by the analysers that give every record a track id, and a zone list.
        self.tracked = False
        self.zoned = False
        # Set by tracking on a live stream: the track ids that will never be given again, so
        # that the analysers after it drop what they keep per track.
        self.gone: list[int] = []
        self._kinds = kinds
        self._reported: dict[str, list[Detection]] = {}
        self._roles: dict[str, Role] = {}
        self._merged = False
        self._annotators: list[Annotator] = []

    def report(self, kind: str, detections: Sequence[Detection], role: Role) -> None:
        if self._merged:
            raise RuntimeError(f"{kind} reported boxes after the frame's detections were merged")
        self._reported.setdefault(kind, []).extend(detections)
        self._roles[kind] = role

    def merge(self) -> None:
        found = [
            (kind, detection) for kind in self._kinds for detection in self._reported.get(kind, [])
        ]
        self.observations = [
            Observation(kind, detection, self.normalised(detection), self._roles[kind])
            for kind, detection in merge_duplicates(found)
        ]
        self._merged = True

    def add(self, kind: str, detection: Detection, role: Role) -> None:
        """An observation derived from the others (a plate read on a vehicle): it joins the
        frame's records after the detections, as they are."""
        self.observations.append(Observation(kind, detection, self.normalised(detection), role))

    def normalised(self, detection: Detection) -> Box:
        return (
            detection.x1 / self.width,
            detection.y1 / self.height,
            detection.x2 / self.width,
            detection.y2 / self.height,
        )

    def kept(self) -> list[Observation]:
        return [o for o in self.observations if o.kept]

    def objects(self) -> list[FrameObject]:
        """The kept observations that count as objects, as zones and lines see them."""
        return [
            FrameObject(index, o.label, o.track_id, o.box)
            for index, o in enumerate(self.observations)
            if o.kept and o.role == "object"
        ]

    def annotate(self, annotator: Annotator) -> None:
        self._annotators.append(annotator)

    def records(self) -> list[tuple[Observation, dict[str, Any]]]:
        """Each kept observation with its public record."""
        return [(o, self._record(o)) for o in self.kept()]

    def _record(self, observation: Observation) -> dict[str, Any]:
        det = observation.detection
        attributes = dict(det.attributes)
        for annotator in self._annotators:
            attributes.update(annotator(observation))
        x1, y1, x2, y2 = observation.box
        record: dict[str, Any] = {
            "label": det.label,
            "confidence": round(det.confidence, 4),
            "bbox": [round(det.x1), round(det.y1), round(det.x2), round(det.y2)],
            "bbox_normalized": [round(x1, 4), round(y1, 4), round(x2, 4), round(y2, 4)],
            "type": object_type(det.label),
            "source": det.source,
            "detector": observation.kind,
        }
        if self.tracked:
            record["track_id"] = observation.track_id
        if self.zoned:
            record["zones"] = observation.zones
        if attributes:
            record["attributes"] = attributes
        return record
