"""The frame pipeline: one decode for every detector, one YOLO inference for every detector built
on it, duplicates across detectors merged, plugins that never touch the video themselves, and
streams that keep apart when one process analyses them in turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from shared.params import DETECTOR_PARAMS, DetectorParams, JobParams
from shared.settings import get_settings
from tests.conftest import REPO_ROOT
from tests.media import BUS, CARS_MP4, PEDESTRIANS
from worker.detectors.base import Detection, Detector
from worker.detectors.registry import detector_classes
from worker.detectors.yolo import yolo_runner
from worker.engine.analysis import VideoAnalysis, analyze_image
from worker.engine.context import merge_duplicates
from worker.engine.outputs import FrameResult
from worker.engine.pipeline import Pipeline
from worker.engine.sources import FileSource, Frame

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


def test_yolo_predicts_once_per_frame_for_every_detector_built_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = yolo_runner(get_settings().model_name)
    real = runner.engine.submit
    predictions: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        predictions.append(1)
        return real(*args, **kwargs)

    # The engine wraps the inference library: counting the frames it is given is the honest check.
    monkeypatch.setattr(runner.engine, "submit", counting)
    kinds = ["objects", "people", "vehicles", "faces", "plates"]
    source = FileSource(CARS_MP4, max_frames=3)
    pipeline = Pipeline(
        JobParams.model_validate({"detectors": kinds}),
        video=True,
        analysed_fps=source.analysed_fps,
    )
    results = [pipeline.process(f.index, f.timestamp, f.image) for f in source.frames()]
    assert any(d["label"] == "car" for r in results for d in r.detections)
    assert len(predictions) == 3


def test_plugins_never_open_media() -> None:
    offenders = [
        f"{path.name}: {call}"
        for folder in ("detectors", "engine/analysers")
        for path in (REPO_ROOT / "worker" / folder).rglob("*.py")
        for call in ("VideoCapture", "imread", "read_frames")
        if call in path.read_text()
    ]
    assert offenders == []


def test_every_detector_kind_is_found_by_a_detector_or_its_analyser() -> None:
    # Motion compares each frame with the last, state a shared detector cannot keep.
    assert set(detector_classes()) | {"motion"} == set(DETECTOR_PARAMS)


def test_a_detector_needs_a_parameter_class() -> None:
    with pytest.raises(TypeError, match="no parameter class"):

        class Unlisted(Detector[DetectorParams]):
            kind = "unlisted"

            def detect(self, frame: np.ndarray) -> list[Detection]:
                return []


TWO_STREAMS = JobParams.model_validate(
    {
        "detectors": ["objects", "motion"],
        "zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
        "lines": [{"name": "centre", "start": [0.5, 0], "end": [0.5, 1]}],
    }
)


def _stream(frames: list[Frame], pipeline: Pipeline) -> list[FrameResult]:
    return [pipeline.process(f.index, f.timestamp, f.image) for f in frames]


def test_two_streams_in_turn_give_what_each_gives_alone() -> None:
    """One process, two cameras: each pipeline keeps its own previous frame, tracks, zones and
    counts, and the shared detectors and YOLO keep nothing from the other stream."""
    sources = [FileSource(path, frame_skip=3, max_frames=12) for path in (PEDESTRIANS, CARS_MP4)]
    frames = [list(source.frames()) for source in sources]

    def pipeline(source: FileSource) -> Pipeline:
        return Pipeline(TWO_STREAMS, video=True, analysed_fps=source.analysed_fps)

    alone: list[tuple[list[FrameResult], dict[str, Any]]] = []
    for source, stream in zip(sources, frames, strict=True):
        single = pipeline(source)
        alone.append(([*_stream(stream, single), single.flush()], single.summary()))

    pipelines = [pipeline(source) for source in sources]
    in_turn: list[list[FrameResult]] = [[], []]
    for pair in zip(*frames, strict=True):
        for results, each, frame in zip(in_turn, pipelines, pair, strict=True):
            results += _stream([frame], each)
    for results, each in zip(in_turn, pipelines, strict=True):
        results.append(each.flush())

    assert [(r, p.summary()) for r, p in zip(in_turn, pipelines, strict=True)] == alone
    # Both streams moved and had tracks to lose: there was state to mix up.
    for results, summary in alone:
        assert summary["motion"]["motion_frames"] > 0
        assert summary["total_unique_objects"] > 0
        assert any(r.events for r in results)


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
