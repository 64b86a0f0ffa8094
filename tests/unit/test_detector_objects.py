"""`objects`: YOLO's COCO classes, filtered per job, from one inference shared per frame."""

from __future__ import annotations

import cv2

from shared.params import ObjectsParams, VehiclesParams
from tests.media import BUS
from worker.detectors.registry import get_detector


def test_bus_photo_has_a_bus_and_people() -> None:
    frame = cv2.imread(str(BUS))
    assert frame is not None
    found = get_detector(ObjectsParams(confidence=0.25, min_box_size=0)).detect(frame)
    labels = [d.label for d in found]
    assert labels.count("person") >= 3
    assert "bus" in labels
    assert {d.source for d in found} == {"yolo"}
    assert all(d.confidence >= 0.25 for d in found)


def test_class_filter_confidence_and_size() -> None:
    frame = cv2.imread(str(BUS))
    assert frame is not None
    only_bus = get_detector(ObjectsParams(confidence=0.25, min_box_size=0, classes=("bus",)))
    assert [d.label for d in only_bus.detect(frame)] == ["bus"]
    strict = get_detector(ObjectsParams(confidence=0.85, min_box_size=0)).detect(frame)
    assert all(d.confidence >= 0.85 for d in strict)
    big = get_detector(ObjectsParams(confidence=0.25, min_box_size=300)).detect(frame)
    assert [d.label for d in big] == ["bus"]


def test_detectors_on_one_frame_share_one_inference() -> None:
    frame = cv2.imread(str(BUS))
    assert frame is not None
    objects = get_detector(ObjectsParams(confidence=0.25, min_box_size=0))
    vehicles = get_detector(VehiclesParams(confidence=0.25, min_box_size=0))
    objects.detect(frame)
    first = objects.runner.predict(frame)  # type: ignore[attr-defined]
    vehicles.detect(frame)
    assert vehicles.runner.predict(frame) is first  # type: ignore[attr-defined]
    # A new frame (even with equal pixels) is predicted afresh.
    assert objects.runner.predict(frame.copy()) is not first  # type: ignore[attr-defined]
