"""The frame pipeline: one decode for every detector, duplicates across detectors merged,
and plugins that never touch the video themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest

from shared.params import DETECTOR_PARAMS, JobParams
from tests.conftest import REPO_ROOT
from tests.media import BUS, PEDESTRIANS
from worker.detectors.base import Detection
from worker.services.analysis import VideoAnalysis, analyze_image
from worker.services.pipeline import merge_duplicates

ALL_DETECTORS = {"detectors": list(DETECTOR_PARAMS)}


def test_every_detector_reads_the_one_decoded_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = cv2.VideoCapture

    class CountingCapture:
        """Counts decoded frames; the probe may open the file but reads no frame."""

        def __init__(self, *args: Any) -> None:
            self._capture = real(*args)

        def read(self) -> Any:
            decoded.append(1)
            return self._capture.read()

        def __getattr__(self, name: str) -> Any:
            return getattr(self._capture, name)

    # cv2 is a library, not a service: counting its decodes is the honest check.
    monkeypatch.setattr(cv2, "VideoCapture", CountingCapture)
    run = VideoAnalysis(PEDESTRIANS, JobParams.model_validate({**ALL_DETECTORS, "max_frames": 5}))
    frames = list(run.frames())
    assert len(frames) == 5
    assert len(decoded) == 5
    assert set(run.summary["detectors"]) == set(DETECTOR_PARAMS)


def test_plugins_never_open_media() -> None:
    offenders = [
        f"{path.name}: {call}"
        for path in (REPO_ROOT / "worker" / "detectors").rglob("*.py")
        for call in ("VideoCapture", "imread", "read_frames")
        if call in path.read_text()
    ]
    assert offenders == []


def box(label: str, x: float, confidence: float = 0.8, source: str = "yolo") -> Detection:
    return Detection(label, confidence, x, 0.0, x + 100.0, 200.0, source=source)


def test_duplicates_from_two_detectors_merge_keeping_the_first() -> None:
    found = [
        ("people", box("person", 0, source="yolo+hog")),
        ("objects", box("person", 5)),  # the same person again, from `objects`
        ("objects", box("person", 300)),  # someone else
        ("faces", box("face", 0)),  # another label is never a duplicate
    ]
    kept = merge_duplicates(found)
    assert [(kind, d.source, d.x1) for kind, d in kept] == [
        ("people", "yolo+hog", 0),
        ("objects", "yolo", 300),
        ("faces", "yolo", 0),
    ]


def test_people_and_objects_together_report_each_person_once() -> None:
    both = analyze_image(BUS, JobParams.model_validate({"detectors": ["people", "objects"]}))
    alone = analyze_image(BUS, JobParams())
    people = [d for d in both.detections if d["label"] == "person"]
    assert len(people) == sum(d["label"] == "person" for d in alone.detections)
    assert {d["detector"] for d in people} == {"people"}
    assert any(d["label"] == "bus" and d["detector"] == "objects" for d in both.detections)


def test_roi_only_drops_what_lies_outside_every_zone(tmp_path: Path) -> None:
    left_half = {"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}
    result = analyze_image(BUS, JobParams.model_validate({"zones": [left_half], "roi_only": True}))
    assert result.detections
    for detection in result.detections:
        x1, _, x2, _ = detection["bbox_normalized"]
        assert (x1 + x2) / 2 <= 0.5
        assert detection["zones"] == ["left"]
    assert result.metrics["zones"]["left"]["count"] >= 1


def test_annotated_jpeg_only_when_asked() -> None:
    assert analyze_image(BUS, JobParams()).annotated_jpeg is None
    jpeg = analyze_image(BUS, JobParams(annotate=True)).annotated_jpeg
    assert jpeg is not None
    assert jpeg[:2] == b"\xff\xd8"
