"""The `motion` analyser's frame differencing on real footage, on still clips with sensor noise,
and on a synthetic moving square whose position is known."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from shared.params import MotionParams
from tests.media import PEDESTRIANS
from worker.engine.analysers.motion_sensor import MotionSensor
from worker.video.reader import read_frames

SQUARE = 80  # px side of the synthetic square
STEP = 40  # px it moves per frame


@cache
def pedestrian_frames() -> tuple[np.ndarray, ...]:
    return tuple(frame for _, frame in read_frames(PEDESTRIANS, max_frames=20))


@pytest.fixture
def sensor() -> MotionSensor:
    return MotionSensor(MotionParams())


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    noise = rng.normal(0.0, sigma, frame.shape)
    return np.clip(frame.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def square_frame(left: int, top: int = 150) -> np.ndarray:
    frame = np.full((360, 640, 3), 20, dtype=np.uint8)
    frame[top : top + SQUARE, left : left + SQUARE] = 255
    return frame


def test_the_first_frame_has_nothing_to_compare_with(sensor: MotionSensor) -> None:
    first = sensor.measure(pedestrian_frames()[0])
    assert first.boxes == []
    assert first.metrics == {
        "motion_intensity": 0.0,
        "affected_area_percentage": 0.0,
        "moving": False,
    }
    assert first.moving_fraction((0.0, 0.0, 1280.0, 720.0)) == 0.0


def test_pedestrians_walking_are_motion(sensor: MotionSensor) -> None:
    frames = pedestrian_frames()
    sensor.measure(frames[0])
    moving_frames = 0
    for frame in frames[1:]:
        motion = sensor.measure(frame)
        boxes, metrics = motion.boxes, motion.metrics
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
def test_a_still_scene_is_not_motion(sensor: MotionSensor, sigma: float) -> None:
    rng = np.random.default_rng(7)
    still = pedestrian_frames()[0]
    for _ in range(10):
        motion = sensor.measure(noisy(still, rng, sigma) if sigma else still)
        assert motion.boxes == []
        metrics = motion.metrics
        assert metrics["moving"] is False
        assert metrics["affected_area_percentage"] < 0.05


def test_a_moving_square_is_boxed_where_it_is(sensor: MotionSensor) -> None:
    sensor.measure(square_frame(100))
    motion = sensor.measure(square_frame(100 + STEP))
    boxes = motion.boxes
    assert motion.metrics["moving"] is True
    square = (100.0 + STEP, 150.0, 100.0 + STEP + SQUARE, 150.0 + SQUARE)
    overlapping = [b for b in boxes if b.x1 < square[2] and square[0] < b.x2]
    assert overlapping, boxes
    assert all(b.y1 < square[3] and square[1] < b.y2 for b in overlapping)
    assert motion.moving_fraction(square) > 0.6
    assert motion.moving_fraction((400.0, 20.0, 600.0, 120.0)) < 0.05
    assert motion.moving_fraction((0.0, 280.0, 640.0, 360.0)) < 0.05


def test_moving_fraction_is_measured_in_input_pixels(sensor: MotionSensor) -> None:
    def doubled(frame: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)

    sensor.measure(doubled(square_frame(100)))
    motion = sensor.measure(doubled(square_frame(100 + STEP)))
    square = (2.0 * (100 + STEP), 300.0, 2.0 * (100 + STEP + SQUARE), 300.0 + 2 * SQUARE)
    assert any(b.x1 < square[2] and square[0] < b.x2 and b.y1 < square[3] for b in motion.boxes)
    assert motion.moving_fraction(square) > 0.6
    assert motion.moving_fraction((800.0, 40.0, 1200.0, 240.0)) < 0.05


def test_each_stream_compares_with_its_own_previous_frame() -> None:
    """Two streams measured in turn: each frame is compared with the last of its own stream,
    as two cameras of one process are."""
    left, right = MotionSensor(MotionParams()), MotionSensor(MotionParams())
    left.measure(square_frame(100))
    right.measure(square_frame(300))
    # The same picture again on each stream: still, though the other stream's last differs.
    assert left.measure(square_frame(100)).boxes == []
    assert right.measure(square_frame(300)).metrics["moving"] is False
    moved = left.measure(square_frame(100 + STEP))
    assert moved.boxes
    assert moved.moving_fraction((100.0 + STEP, 150.0, 100.0 + STEP + SQUARE, 230.0)) > 0.6
    fresh = MotionSensor(MotionParams())
    assert fresh.measure(square_frame(300)).boxes == []
