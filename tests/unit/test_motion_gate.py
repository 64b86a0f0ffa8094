"""The motion gate: detectors run where the picture changed, boxes carry over where it did not,
and a mostly still video gives the same objects and events as with every frame detected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.gated import event_keys, unmatched
from shared.cameras.params import CameraParams
from shared.params import JobParams, MotionGateParams
from tests.media import mostly_still_clip
from worker.engine.analysis import VideoAnalysis
from worker.engine.gate import MotionGate

SCENE = np.full((360, 640, 3), 120, np.uint8)
SCENE[200:] = 80


def grainy(frame: np.ndarray, seed: int) -> np.ndarray:
    """Sensor grain: every frame differs a little from the last, everywhere."""
    noise = np.random.default_rng(seed).integers(-4, 5, frame.shape)
    grained: np.ndarray = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return grained


def with_square(x: int, seed: int) -> np.ndarray:
    frame = SCENE.copy()
    frame[150:190, x : x + 40] = 230
    return grainy(frame, seed)


def test_a_still_picture_is_detected_once_then_every_full_detection_interval() -> None:
    gate = MotionGate(MotionGateParams(enabled=True, full_detection_s=2.0))
    decisions = [gate.decide(i / 10, grainy(SCENE, i)) for i in range(45)]
    assert [i for i, d in enumerate(decisions) if d] == [0, 20, 40]
    assert gate.summary() == {"frames_detected": 3, "frames_carried": 42}


def test_a_moving_object_runs_the_detectors_on_every_frame() -> None:
    gate = MotionGate(MotionGateParams(enabled=True))
    assert all(gate.decide(i / 10, with_square(100 + 12 * i, i)) for i in range(10))


def test_slow_change_accumulates_against_the_last_detected_frame() -> None:
    """One pixel column a frame is too little to see between neighbours, not since the last
    detection: the frame is compared with the one whose boxes it would carry."""
    gate = MotionGate(MotionGateParams(enabled=True, full_detection_s=600.0))
    decisions = [gate.decide(i / 10, with_square(100 + i, i)) for i in range(40)]
    assert decisions[0]
    assert not all(decisions[1:])
    assert any(decisions[1:])


def test_the_gate_is_off_for_uploads_and_on_for_cameras() -> None:
    assert not JobParams().motion_gate.enabled
    assert CameraParams().job_params().motion_gate.enabled
    assert (
        not CameraParams.model_validate({"motion_gate": {"enabled": False}})
        .job_params()
        .motion_gate.enabled
    )


@pytest.fixture(scope="module")
def still_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mostly_still_clip(
        tmp_path_factory.mktemp("gate") / "still.mp4", still_s=5.0, moving_s=2.0
    )


def analyse(clip: Path, gate: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    params = JobParams.model_validate(
        {
            "detectors": ["objects"],
            "zones": [{"name": "road", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],
            "lines": [{"name": "middle", "start": [0.5, 0], "end": [0.5, 1]}],
            "motion_gate": {"enabled": gate},
        }
    )
    run = VideoAnalysis(clip, params)
    metrics = [record.metrics or {} for record in run.frames()]
    return run.summary, metrics


def test_a_mostly_still_video_gives_the_same_objects_and_events_with_fewer_inferences(
    still_clip: Path,
) -> None:
    every, every_metrics = analyse(still_clip, gate=False)
    gated, gated_metrics = analyse(still_clip, gate=True)
    assert gated["unique_objects"] == every["unique_objects"]
    assert gated["unique_objects"]
    # The same events, each within the interval at which the gate confirms what it carries.
    tolerance = MotionGateParams().full_detection_s
    gated_events, every_events = event_keys(gated), event_keys(every)
    assert gated_events
    assert unmatched(gated_events, every_events, tolerance) == []
    assert unmatched(every_events, gated_events, tolerance) == []
    assert "motion_gate" not in every
    assert all("inference" not in m for m in every_metrics)
    # The results say which frames were detected and which carried over.
    counts = gated["motion_gate"]
    inference = [m["inference"] for m in gated_metrics]
    assert counts["frames_detected"] == inference.count("detected")
    assert counts["frames_carried"] == inference.count("carried")
    # 10 of the clip's 12 seconds are still: most frames carry over.
    assert counts["frames_carried"] > 3 * counts["frames_detected"]
