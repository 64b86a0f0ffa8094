"""The `motion` detector on real footage, on still clips with sensor noise, and on a synthetic
moving square whose position is known."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from shared.params import MotionParams
from tests.media import PEDESTRIANS
from worker.detectors.plugins.motion import MotionDetector
from worker.detectors.registry import get_detector
from worker.video.reader import read_frames

SQUARE = 80  # px side of the synthetic square
STEP = 40  # px it moves per frame


@cache
def pedestrian_frames() -> tuple[np.ndarray, ...]:
    return tuple(frame for _, frame in read_frames(PEDESTRIANS, max_frames=20))


@pytest.fixture
def detector() -> MotionDetector:
    detector = get_detector(MotionParams())
    assert isinstance(detector, MotionDetector)
    # One cached instance serves every test, as it serves every job of a worker.
    detector.reset()
    return detector


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    noise = rng.normal(0.0, sigma, frame.shape)
    return np.clip(frame.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def square_frame(left: int, top: int = 150) -> np.ndarray:
    frame = np.full((360, 640, 3), 20, dtype=np.uint8)
    frame[top : top + SQUARE, left : left + SQUARE] = 255
    return frame


def test_the_first_frame_has_nothing_to_compare_with(detector: MotionDetector) -> None:
    assert detector.detect(pedestrian_frames()[0]) == []
    assert detector.frame_metrics() == {
        "motion_intensity": 0.0,
        "affected_area_percentage": 0.0,
        "moving": False,
    }
    assert detector.moving_fraction((0.0, 0.0, 1280.0, 720.0)) == 0.0


def test_pedestrians_walking_are_motion(detector: MotionDetector) -> None:
    frames = pedestrian_frames()
    detector.detect(frames[0])
    moving_frames = 0
    for frame in frames[1:]:
        boxes = detector.detect(frame)
        metrics = detector.frame_metrics()
        moving_frames += bool(metrics["moving"] and boxes)
        assert 0.0 <= metrics["motion_intensity"] <= 1.0
        assert 0.0 <= metrics["affected_area_percentage"] <= 100.0
        height, width = frame.shape[:2]
        for box in boxes:
            assert (box.label, box.source) == ("motion", "motion")
            assert 0.0 <= box.x1 < box.x2 <= width
            assert 0.0 <= box.y1 < box.y2 <= height
            assert 0.0 < box.confidence <= 1.0
    assert moving_frames >= 0.8 * (len(frames) - 1)


@pytest.mark.parametrize("sigma", [0.0, 2.0])
def test_a_still_scene_is_not_motion(detector: MotionDetector, sigma: float) -> None:
    rng = np.random.default_rng(7)
    still = pedestrian_frames()[0]
    for _ in range(10):
        assert detector.detect(noisy(still, rng, sigma) if sigma else still) == []
        metrics = detector.frame_metrics()
        assert metrics["moving"] is False
        assert metrics["affected_area_percentage"] < 0.05


def test_a_moving_square_is_boxed_where_it_is(detector: MotionDetector) -> None:
    detector.detect(square_frame(100))
    boxes = detector.detect(square_frame(100 + STEP))
    assert detector.frame_metrics()["moving"] is True
    square = (100.0 + STEP, 150.0, 100.0 + STEP + SQUARE, 150.0 + SQUARE)
    overlapping = [b for b in boxes if b.x1 < square[2] and square[0] < b.x2]
    assert overlapping, boxes
    assert all(b.y1 < square[3] and square[1] < b.y2 for b in overlapping)
    assert detector.moving_fraction(square) > 0.6
    assert detector.moving_fraction((400.0, 20.0, 600.0, 120.0)) < 0.05
    assert detector.moving_fraction((0.0, 280.0, 640.0, 360.0)) < 0.05


def test_moving_fraction_is_measured_in_input_pixels(detector: MotionDetector) -> None:
    def doubled(frame: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)

    detector.detect(doubled(square_frame(100)))
    boxes = detector.detect(doubled(square_frame(100 + STEP)))
    square = (2.0 * (100 + STEP), 300.0, 2.0 * (100 + STEP + SQUARE), 300.0 + 2 * SQUARE)
    assert any(b.x1 < square[2] and square[0] < b.x2 and b.y1 < square[3] for b in boxes)
    assert detector.moving_fraction(square) > 0.6
    assert detector.moving_fraction((800.0, 40.0, 1200.0, 240.0)) < 0.05


def test_reset_forgets_the_previous_frame(detector: MotionDetector) -> None:
    detector.detect(square_frame(100))
    assert detector.detect(square_frame(100 + STEP))
    detector.reset()
    assert detector.detect(square_frame(300)) == []
    assert detector.frame_metrics()["moving"] is False
    assert detector.moving_fraction((0.0, 0.0, 640.0, 360.0)) == 0.0
