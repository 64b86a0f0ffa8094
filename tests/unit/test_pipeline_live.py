"""A live pipeline (`retain="live"`, a camera's) gives the frame results a summarised one (a file
job's) gives, and keeps a state that does not grow however long its stream runs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from types import FunctionType, MethodType, ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from shared.params import JobParams, TrackingParams
from tests.media import DASHCAM_PLATE, PEDESTRIANS
from worker.anpr.reader import Box, PlateRead
from worker.detectors.base import Detection, Role
from worker.engine import pipeline as pipeline_module
from worker.engine.analysers import plates
from worker.engine.analysers.base import Retain
from worker.engine.analysers.plates import PlatesAnalyser
from worker.engine.analysers.tracking import IdStitcher, TrackingAnalyser
from worker.engine.outputs import FrameResult, WatchEntry
from worker.engine.pipeline import Pipeline
from worker.engine.sources import FileSource

MODES: tuple[Retain, ...] = ("summary", "live")


def _in_both_modes(
    params: JobParams,
    frames: Iterator[tuple[int, float, np.ndarray]],
    analysed_fps: float,
    watchlist: Sequence[WatchEntry] = (),
) -> tuple[dict[Retain, Pipeline], dict[Retain, list[FrameResult]]]:
    """Each frame through a summarised and a live pipeline in turn (YOLO runs once for both:
    it remembers the last frame it saw); the results of each, its flush last."""
    pipelines = {
        mode: Pipeline(
            params, video=True, analysed_fps=analysed_fps, watchlist=watchlist, retain=mode
        )
        for mode in MODES
    }
    results: dict[Retain, list[FrameResult]] = {mode: [] for mode in MODES}
    for index, timestamp, image in frames:
        for mode in MODES:
            results[mode].append(pipelines[mode].process(index, timestamp, image))
    for mode in MODES:
        results[mode].append(pipelines[mode].flush())
    return pipelines, results


def _tracking(pipeline: Pipeline) -> IdStitcher:
    [analyser] = [a for a in pipeline.analysers if isinstance(a, TrackingAnalyser)]
    return analyser.stitcher


def _plates(pipeline: Pipeline) -> plates.PlateMonitor:
    [analyser] = [a for a in pipeline.analysers if isinstance(a, PlatesAnalyser)]
    return analyser.monitor


def test_live_results_are_the_summarised_ones_on_a_crowd() -> None:
    params = JobParams.model_validate(
        {
            "detectors": ["objects", "motion"],
            "zones": [
                {
                    "name": "left",
                    "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
                    "loiter_seconds": 2,
                }
            ],
            "lines": [{"name": "street", "start": [0, 0.6], "end": [1, 0.6]}],
            # Around the 27 to 40 people of these frames, so that the level changes.
            "crowd": {
                "levels": [
                    {"name": "calm", "min_people": 0},
                    {"name": "busy", "min_people": 34},
                    {"name": "packed", "min_people": 38},
                ]
            },
        }
    )
    source = FileSource(PEDESTRIANS, max_frames=150)
    frames = ((f.index, f.timestamp, f.image) for f in source.frames())
    pipelines, results = _in_both_modes(params, frames, source.analysed_fps)

    # Every frame's detections (track ids and zones included), metrics and events, and what
    # the end settles.
    assert results["live"] == results["summary"]
    types = {event.type for result in results["live"] for event in result.events}
    assert {"zone_enter", "zone_exit", "loitering", "line_crossed"} <= types
    assert {"crowd_level_changed", "motion_start", "motion_end"} <= types
    # The live pipeline did forget tracks on the way, which the summarised one keeps.
    assert len(_tracking(pipelines["live"]).tracks) < len(_tracking(pipelines["summary"]).tracks)
    assert pipelines["summary"].summary()["total_unique_objects"] > 0
    with pytest.raises(RuntimeError, match="no summary"):
        pipelines["live"].summary()


def test_live_plates_and_matches_are_the_summarised_ones() -> None:
    """The car's plate settles while it is in view; then the camera sees nothing for three
    seconds, long enough for its track to be gone for good, and the live pipeline forgets it."""
    source = FileSource(DASHCAM_PLATE)
    video = [(f.index, f.timestamp, f.image) for f in source.frames()]
    last, last_s, image = video[-1]
    dark = np.zeros_like(image)
    fps = source.analysed_fps
    video += [(last + n, last_s + n / fps, dark) for n in range(1, round(3 * fps))]
    watch = [WatchEntry("pattern", "KA22*", "wanted")]
    params = JobParams.model_validate({"detectors": [{"kind": "plates"}]})
    pipelines, results = _in_both_modes(params, iter(video), fps, watch)

    *frames, end = results["live"]
    *summarised, summarised_end = results["summary"]
    assert frames == summarised
    [plate] = [plate for result in frames for plate in result.plates]
    assert plate.license_plate == "KA22P3368"
    assert [m.watch_pattern for result in frames for m in result.matches] == ["KA22*"]
    # Nothing is left to settle at the end; only a summary has the merged plates' events.
    assert (end.plates, end.matches, end.events) == ([], [], [])
    assert (summarised_end.plates, summarised_end.matches) == ([], [])
    assert [e.type for e in summarised_end.events] == ["plate_read", "watchlist_match"]
    assert plate.vehicle_track_id in _plates(pipelines["summary"]).vehicles
    assert plate.vehicle_track_id not in _plates(pipelines["live"]).vehicles


def test_a_track_is_forgotten_only_when_it_can_never_come_back() -> None:
    stitcher = IdStitcher(TrackingParams(stitch_gap_s=2.0))
    stitcher.update(0, 0.0, [(1, "person", (0.1, 0.1, 0.2, 0.4))])
    # Lost longer than stitching reaches, but the tracker may still find raw track 1 again.
    assert stitcher.forget(5.0, held={1}) == []
    assert stitcher.update(60, 6.0, [(1, "person", (0.1, 0.1, 0.2, 0.4))]) == [1]
    # The tracker has let it go, but a new track may still continue it.
    assert stitcher.forget(7.0, held=set()) == []
    assert stitcher.forget(8.1, held=set()) == [1]
    assert (stitcher.tracks, stitcher.forget(9.0, held=set())) == ({}, [])


# A synthetic street at 10 frames per second, 320x240: a person enters every second and
# crosses the frame in six (some of them unseen for a second and a half on the way, which the
# tracker loses and stitching joins), a car every five seconds crosses in four, and the scene
# moves for two seconds out of four.
FPS = 10.0
WIDTH, HEIGHT = 320, 240
STILL = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
MOVED = STILL.copy()
MOVED[100:140, 140:180] = 255
STREET = JobParams.model_validate(
    {
        "detectors": ["objects", {"kind": "plates"}, "motion"],
        "zones": [
            {"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "loiter_seconds": 2}
        ],
        "lines": [{"name": "middle", "start": [0.5, 0], "end": [0.5, 1]}],
        "crowd": {
            "levels": [
                {"name": "quiet", "min_people": 0},
                {"name": "busy", "min_people": 5},
                {"name": "crowded", "min_people": 7},
            ]
        },
    }
)


def _people(index: int) -> list[Detection]:
    found = []
    for person in range(max(0, index // 10 - 6), index // 10 + 1):
        step = index - 10 * person
        if not 0 <= step < 60 or (person % 7 == 3 and 20 <= step < 35):
            continue
        x = step / 60 * (WIDTH - 16)
        y = 30 + 40 * (person % 4)
        found.append(Detection("person", 0.9, x, y, x + 16, y + 60, "scripted"))
    return found


def _cars(index: int) -> list[Detection]:
    car, step = divmod(index, 50)
    if step >= 40:
        return []
    x = (WIDTH - 80) * (1 - step / 40)
    return [Detection("car", 0.9, x, 190, x + 80, 230, "scripted", {"car": car})]


class ScriptedDetector:
    """Stands in for YOLO: the street's people and cars, from the frame's index."""

    kind = "objects"
    role: Role = "object"
    frame_model = None

    def __init__(self) -> None:
        self.index = 0

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return _people(self.index) + _cars(self.index)


class ScriptedReader:
    """Stands in for the OCR: every car reads the same plate at the bottom of its box."""

    engine = SimpleNamespace(name="scripted")

    def read(self, frame: np.ndarray, vehicles: Sequence[Box], strategy: str) -> list[PlateRead]:
        return [
            PlateRead("AB12CDE", 0.9, "uk", (x1 + 20, y2 - 12, x1 + 60, y2), "AB12CDE", i)
            for i, (x1, _, _, y2) in enumerate(vehicles)
        ]


def _street(monkeypatch: pytest.MonkeyPatch, retain: Retain) -> tuple[Pipeline, ScriptedDetector]:
    detector = ScriptedDetector()
    with monkeypatch.context() as patch:
        patch.setattr(pipeline_module, "build_detectors", lambda order: [detector])
        patch.setattr(plates, "plate_reader", lambda params: ScriptedReader())
        pipeline = Pipeline(STREET, video=True, analysed_fps=FPS, retain=retain)
    return pipeline, detector


def _footprint(pipeline: Pipeline) -> int:
    """Items held in the containers reachable from the pipeline's state (its analysers and
    statistics), however deep. ultralytics' tracker is left out: it bounds its own memory (it
    keeps at most the last 1,000 tracks it removed)."""
    seen: set[int] = set()
    stack: list[Any] = [pipeline.analysers, pipeline.stats]
    items = 0
    leaves = (str, bytes, int, float, np.ndarray, type, ModuleType, FunctionType, MethodType)
    while stack:
        obj = stack.pop()
        if isinstance(obj, leaves) or id(obj) in seen:
            continue
        if type(obj).__module__.startswith("ultralytics"):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            items += len(obj)
            stack += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            items += len(obj)
            stack += list(obj)
        else:
            stack += list(getattr(obj, "__dict__", {}).values())
            for cls in type(obj).__mro__:
                slots = getattr(cls, "__slots__", ())
                for slot in (slots,) if isinstance(slots, str) else slots:
                    stack += [getattr(obj, slot)] if hasattr(obj, slot) else []
    return items


def _run(
    pipeline: Pipeline, detector: ScriptedDetector, frames: int, every: int
) -> tuple[list[FrameResult], list[int]]:
    results, footprints = [], []
    for index in range(frames):
        detector.index = index
        image = MOVED if index % 40 < 20 and index % 2 else STILL
        results.append(pipeline.process(index, index / FPS, image))
        if (index + 1) % every == 0:
            footprints.append(_footprint(pipeline))
    return results, footprints


def test_a_live_pipeline_keeps_a_bounded_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 10,000 frames (1,000 people and 200 cars), the live state stays what a few seconds
    of street need; the summarised one grows with the stream, as its summary needs."""
    live, live_detector = _street(monkeypatch, "live")
    summarised, summarised_detector = _street(monkeypatch, "summary")
    frames = 3000
    expected, grown = _run(summarised, summarised_detector, frames, every=500)
    results, footprints = _run(live, live_detector, 10_000, every=500)

    assert results[:frames] == expected
    types = {event.type for result in results for event in result.events}
    assert types >= {"zone_enter", "zone_exit", "loitering", "line_crossed", "motion_end"}
    assert len({p.vehicle_track_id for result in results for p in result.plates}) == 200
    track_ids = {d["track_id"] for result in results for d in result.detections}
    assert len(track_ids - {None}) > 1000
    assert summarised.summary()["tracking"]["stitched_id_switches"] > 0
    # The summarised state grows all along; the live one stays what it was after 50 seconds.
    assert grown == sorted(grown)
    assert grown[-1] > 3 * grown[0]
    assert max(footprints) < 1.2 * footprints[0]
