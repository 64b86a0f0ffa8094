"""The `people` detector: YOLO, HOG and fused strategies on ultralytics' bus photo, and the
fusion rules on made-up boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from shared.params import PeopleParams
from tests.media import BUS
from worker.detectors.base import Detection, suppress_overlaps
from worker.detectors.plugins.people import (
    FUSED_SOURCE,
    fuse,
    hog_confidence,
    keep_confident,
)
from worker.detectors.registry import get_detector

# The four people in bus.jpg (x1, y1, x2, y2), drawn by eye: three standing men and a
# half-visible person cut by the left edge.
BUS_PEOPLE = [(50, 400, 240, 905), (222, 405, 345, 860), (668, 380, 810, 880), (0, 550, 60, 870)]


@pytest.fixture(scope="module")
def bus() -> np.ndarray:
    frame = cv2.imread(str(BUS))
    assert frame is not None
    return frame


def person(x1: float, y1: float, x2: float, y2: float) -> Detection:
    return Detection("person", 1.0, x1, y1, x2, y2, source="truth")


def found(detections: list[Detection], truth: tuple[int, int, int, int]) -> bool:
    return any(d.iou(person(*truth)) >= 0.5 for d in detections)


def detect(frame: np.ndarray, **settings: object) -> list[Detection]:
    params = PeopleParams.model_validate({"confidence": 0.25, "min_box_size": 0, **settings})
    return get_detector(params).detect(frame)


def test_yolo_finds_every_person_on_the_bus_photo(bus: np.ndarray) -> None:
    people = detect(bus, strategy="yolo")
    assert all(found(people, truth) for truth in BUS_PEOPLE)
    assert {(d.label, d.source) for d in people} == {("person", "yolo")}
    assert all(d.confidence >= 0.25 for d in people)


def test_min_box_size_drops_the_half_visible_person(bus: np.ndarray) -> None:
    people = detect(bus, strategy="yolo", min_box_size=100)
    assert not found(people, BUS_PEOPLE[3])
    assert all(found(people, truth) for truth in BUS_PEOPLE[:3])


def test_hog_finds_the_clearest_pedestrian_and_keeps_its_score(bus: np.ndarray) -> None:
    people = detect(bus, strategy="hog", hog_confidence=0.2)
    assert found(people, BUS_PEOPLE[0])
    for detection in people:
        assert (detection.label, detection.source) == ("person", "hog")
        assert 0.2 <= detection.confidence < 1.0
        assert detection.confidence == hog_confidence(detection.attributes["hog_score"])


def test_hog_threshold_only_removes_boxes(bus: np.ndarray) -> None:
    loose = detect(bus, strategy="hog", hog_confidence=0.2)
    strict = detect(bus, strategy="hog", hog_confidence=0.45)
    assert strict == [d for d in loose if d.confidence >= 0.45]
    assert len(strict) < len(loose)


def test_fused_merges_where_both_models_agree(bus: np.ndarray) -> None:
    people = detect(bus, strategy="fused")
    assert all(found(people, truth) for truth in BUS_PEOPLE)
    merged = [d for d in people if d.source == FUSED_SOURCE]
    assert merged
    for detection in merged:
        assert detection.confidence > detection.attributes["yolo_confidence"]
        assert "hog_score" in detection.attributes


def yolo_box(confidence: float, x1: float, y1: float, x2: float, y2: float) -> Detection:
    return Detection("person", confidence, x1, y1, x2, y2, source="yolo")


def hog_box(confidence: float, x1: float, y1: float, x2: float, y2: float) -> Detection:
    return Detection(
        "person", confidence, x1, y1, x2, y2, source="hog", attributes={"hog_score": 1.5}
    )


def test_fuse_merges_an_overlapping_pair_onto_yolos_box() -> None:
    yolo = yolo_box(0.6, 0, 0, 100, 200)
    hog = hog_box(0.5, 5, 5, 105, 205)
    [merged] = fuse([yolo], [hog], min_iou=0.4)
    assert merged.source == FUSED_SOURCE
    assert (merged.x1, merged.y1, merged.x2, merged.y2) == (0, 0, 100, 200)
    assert merged.confidence == pytest.approx(1 - 0.4 * 0.5)
    assert merged.attributes == {"hog_score": 1.5, "yolo_confidence": 0.6}


def test_fuse_keeps_unmatched_boxes_with_their_own_source() -> None:
    yolo = yolo_box(0.7, 0, 0, 100, 200)
    hog = hog_box(0.6, 300, 0, 400, 200)
    assert fuse([yolo], [hog], min_iou=0.4) == [yolo, hog]


def test_fuse_leaves_pairs_below_the_fusion_iou_apart() -> None:
    yolo = yolo_box(0.7, 0, 0, 100, 200)
    hog = hog_box(0.6, 60, 0, 160, 200)  # IoU 0.25
    assert fuse([yolo], [hog], min_iou=0.4) == [yolo, hog]
    assert fuse([yolo], [hog], min_iou=0.2)[0].source == FUSED_SOURCE


def test_fuse_gives_each_box_one_partner_best_overlap_first() -> None:
    yolo = yolo_box(0.7, 0, 0, 100, 200)
    near = hog_box(0.3, 0, 10, 100, 210)
    nearer = hog_box(0.4, 0, 2, 100, 202)
    fused = fuse([yolo], [near, nearer], min_iou=0.4)
    assert [d.source for d in fused] == [FUSED_SOURCE, "hog"]
    assert fused[0].confidence == pytest.approx(1 - 0.3 * 0.6)
    assert fused[1] == near


def test_keep_confident_holds_hog_only_boxes_to_the_hog_threshold() -> None:
    detections = [
        yolo_box(0.3, 0, 0, 10, 10),
        hog_box(0.3, 0, 0, 10, 10),
        hog_box(0.7, 0, 0, 10, 10),
        yolo_box(0.2, 0, 0, 10, 10),
    ]
    kept = keep_confident(detections, confidence=0.25, hog_min=0.5)
    assert kept == [detections[0], detections[2]]


def test_suppress_overlaps_keeps_the_best_of_each_cluster() -> None:
    best = hog_box(0.8, 0, 0, 100, 200)
    shadow = hog_box(0.5, 5, 0, 105, 200)
    apart = hog_box(0.4, 300, 0, 400, 200)
    assert suppress_overlaps([shadow, apart, best], max_iou=0.45) == [best, apart]


def test_hog_confidence_squashes_the_margin() -> None:
    assert hog_confidence(-0.3) == 0.0
    assert hog_confidence(1.0) == 0.5
    assert hog_confidence(0.5) < hog_confidence(2.0) < 1.0
