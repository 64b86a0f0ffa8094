"""The `faces` detector: OpenCV's frontal Haar cascade on ultralytics' photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from shared.params import FacesParams, PeopleParams
from tests.media import BUS, ZIDANE
from worker.detectors.base import Detection
from worker.detectors.cascades import load_cascade
from worker.detectors.plugins.faces import face_confidence
from worker.detectors.registry import get_detector
from worker.errors import ModelUnavailableError


def read(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path))
    assert frame is not None
    return frame


def persons(frame: np.ndarray) -> list[Detection]:
    return get_detector(PeopleParams(confidence=0.25, min_box_size=0)).detect(frame)


def inside_a_person(face: Detection, people: list[Detection]) -> bool:
    return any(
        p.x1 <= face.x1 and p.y1 <= face.y1 and face.x2 <= p.x2 and face.y2 <= p.y2 for p in people
    )


def test_both_faces_on_the_bus_photo_lie_on_people() -> None:
    frame = read(BUS)
    faces = get_detector(FacesParams()).detect(frame)
    assert len(faces) == 2
    people = persons(frame)
    for face in faces:
        assert (face.label, face.source) == ("face", "haar")
        assert 0.0 < face.confidence < 1.0
        assert inside_a_person(face, people)


def test_zidane_face_found_and_the_crowd_behind_kept_out() -> None:
    # Scanning the whole frame, the cascade also accepts patches of the blurred crowd behind
    # (and misses Zidane's turned, shouting face); searching the people's heads keeps only
    # the real, frontal face.
    frame = read(ZIDANE)
    people = persons(frame)
    on_heads = get_detector(FacesParams()).detect(frame)
    assert len(on_heads) == 1
    assert on_heads[0].confidence > 0.9
    assert inside_a_person(on_heads[0], people)
    whole = get_detector(FacesParams(search="frame", confidence=0.0)).detect(frame)
    assert len(whole) > len(on_heads)
    assert any(not inside_a_person(face, people) for face in whole)


def test_a_uniform_frame_has_no_faces() -> None:
    blank = np.full((480, 640, 3), 127, dtype=np.uint8)
    assert get_detector(FacesParams()).detect(blank) == []


def test_min_face_size_drops_smaller_faces() -> None:
    # The bus photo's faces are about 50 px wide.
    assert get_detector(FacesParams(min_face_size=100)).detect(read(BUS)) == []


def test_a_missing_cascade_is_reported_as_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"missing\.xml"):
        load_cascade(tmp_path / "missing.xml")


def test_face_confidence_is_a_logistic_of_the_stage_vote() -> None:
    assert face_confidence(0.0) == 0.5
    assert 0.0 < face_confidence(-3.0) < face_confidence(0.9) < face_confidence(5.0) < 1.0
