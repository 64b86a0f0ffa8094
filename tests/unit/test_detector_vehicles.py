"""`vehicles`: cars, trucks, motorcycles, buses and bicycles, nothing else."""

from __future__ import annotations

import cv2

from shared.params import VehiclesParams
from tests.media import BUS, CARS_MP4
from worker.detectors.registry import get_detector
from worker.video.reader import read_frames


def test_cars_in_street_video() -> None:
    detector = get_detector(VehiclesParams(confidence=0.25, min_box_size=0))
    labels = [
        d.label for _, frame in read_frames(CARS_MP4, max_frames=10) for d in detector.detect(frame)
    ]
    assert labels.count("car") >= 10
    assert set(labels) <= {"car", "truck", "motorcycle", "bus", "bicycle"}


def test_types_filter() -> None:
    frame = cv2.imread(str(BUS))
    assert frame is not None
    assert [
        d.label for d in get_detector(VehiclesParams(confidence=0.25, min_box_size=0)).detect(frame)
    ] == ["bus"]
    only_cars = get_detector(VehiclesParams(confidence=0.25, min_box_size=0, types=("car",)))
    assert only_cars.detect(frame) == []
