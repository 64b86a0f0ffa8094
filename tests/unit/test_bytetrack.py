"""Our ByteTrack and BoT-SORT (worker/engine/analysers/bytetrack.py): the same raw ids as
ultralytics' trackers on real detections, the algorithm's rules on made-up boxes, and no torch
in the process that tracks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from shared.params import TrackingParams
from tests.conftest import REPO_ROOT, SHARED_DIR
from tests.media import CARS_MP4, PEDESTRIANS
from worker.detectors.base import Detection
from worker.engine.analysers.bytetrack import ByteTracker, TrackerConfig, Variant
from worker.engine.analysers.tracking import RawTracker
from worker.video.reader import read_frames

MODEL = SHARED_DIR / "models" / "yolov8n_int8_openvino_model"
# Enough for tracks to start, be lost, expire and be found again in both clips, while the
# detector (the slow part) runs in well under half a minute.
FRAMES = 100
VIDEOS = {"pedestrians": PEDESTRIANS, "cars": CARS_MP4}

VARIANTS: list[Variant] = ["bytetrack", "botsort"]
BUFFER = 5

Frame = tuple[np.ndarray, np.ndarray]  # (N, 4) corner boxes, (N,) scores
BOX = np.array([100.0, 100.0, 140.0, 200.0], dtype=np.float32)
FAR = np.array([400.0, 100.0, 440.0, 200.0], dtype=np.float32)


def _ultralytics_dir() -> Path:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("ultralytics is not installed: there is no reference tracker to compare with")
    return Path(spec.submodule_search_locations[0])


def _reference_config(variant: Variant) -> dict[str, Any]:
    path = _ultralytics_dir() / "cfg" / "trackers" / f"{variant}.yaml"
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    return config


@pytest.fixture(scope="module")
def detections() -> dict[str, list[Frame]]:
    """The detector's boxes at conf 0.1 (low enough for the second association to matter) on
    the first FRAMES frames of each clip."""
    _ultralytics_dir()
    from ultralytics import YOLO

    model = YOLO(str(MODEL), task="detect")
    clips = {}
    for name, path in VIDEOS.items():
        frames = []
        for _, image in read_frames(path, max_frames=FRAMES):
            boxes = model(image, conf=0.1, verbose=False)[0].boxes.cpu().numpy()
            frames.append((boxes.xyxy, boxes.conf))
        clips[name] = frames
    return clips


@pytest.mark.parametrize("variant", VARIANTS)
def test_our_defaults_are_ultralytics_own(variant: Variant) -> None:
    config = _reference_config(variant)
    ours = TrackerConfig()
    for key in ("track_high_thresh", "track_low_thresh", "new_track_thresh", "match_thresh"):
        assert getattr(ours, key) == config[key], key
    assert ours.track_buffer == config["track_buffer"]
    assert ours.fuse_score is config["fuse_score"]


@pytest.mark.parametrize("video", list(VIDEOS))
@pytest.mark.parametrize("variant", VARIANTS)
# A track buffer of 30 frames (the default; one second at 30 fps) and of 3, so that lost
# tracks also expire, and some are found in their last frame, within the clip.
@pytest.mark.parametrize("analysed_fps", [30.0, 3.0])
def test_same_ids_as_ultralytics(
    detections: dict[str, list[Frame]], video: str, variant: Variant, analysed_fps: float
) -> None:
    """Per frame, the raw id of every detection and the ids held (followed or lost) are
    ultralytics' own, with GMC and ReID off as the worker ran them."""
    from ultralytics.engine.results import Boxes
    from ultralytics.trackers.bot_sort import BOTSORT
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import IterableSimpleNamespace

    ours = RawTracker(TrackingParams(tracker=variant), analysed_fps)
    args = _reference_config(variant)
    args.update(track_buffer=round(analysed_fps), gmc_method="none", with_reid=False)
    theirs = (BOTSORT if variant == "botsort" else BYTETracker)(IterableSimpleNamespace(**args))

    differing, identified = [], 0
    for index, (xyxy, conf) in enumerate(detections[video]):
        rows = theirs.update(Boxes(np.column_stack([xyxy, conf, np.zeros_like(conf)]), (8, 8)))
        expected: list[int | None] = [None] * len(conf)
        for row in rows:
            expected[int(row[-1])] = int(row[4])
        held = {t.track_id for t in (*theirs.tracked_stracks, *theirs.lost_stracks)}
        if ours.update(_as_detections(xyxy, conf)) != expected or ours.held() != held:
            differing.append(index)
        identified += sum(i is not None for i in expected)
    # Not a comparison of two idle trackers: most frames have several tracked objects.
    assert identified > 2 * FRAMES
    assert differing == [], f"{len(differing)} of {FRAMES} frames differ"


def _as_detections(xyxy: np.ndarray, conf: np.ndarray) -> list[Detection]:
    return [
        Detection("person", float(score), float(x1), float(y1), float(x2), float(y2), "yolo")
        for (x1, y1, x2, y2), score in zip(xyxy, conf, strict=True)
    ]


def _run(
    tracker: ByteTracker, frames: list[list[tuple[np.ndarray, float]]]
) -> list[list[int | None]]:
    """Feeds (box, score) lists frame by frame; returns the ids per frame."""
    out = []
    for frame in frames:
        boxes = np.array([box for box, _ in frame], dtype=np.float32).reshape(-1, 4)
        out.append(tracker.update(boxes, np.array([s for _, s in frame], dtype=np.float32)))
    return out


def _walker(frame: int) -> np.ndarray:
    """A person-sized box walking right, 2 px a frame."""
    return BOX + np.array([2.0 * frame, 0, 2.0 * frame, 0], dtype=np.float32)


@pytest.mark.parametrize("variant", VARIANTS)
# A lost track is kept for the buffer's frames and, as in the reference implementations, can
# still be found in the frame after.
@pytest.mark.parametrize("gap", [1, BUFFER - 1, BUFFER + 1])
def test_a_track_missed_for_less_than_its_buffer_keeps_its_id(variant: Variant, gap: int) -> None:
    tracker = ByteTracker(TrackerConfig(track_buffer=BUFFER), variant)
    seen = [[(_walker(f), 0.9)] for f in range(10)]
    # Found again where it was heading.
    ids = _run(tracker, [*seen, *[[]] * gap, [(_walker(10 + gap), 0.9)]])
    assert ids[9] == ids[-1] == [1]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_track_missed_for_longer_is_given_up(variant: Variant) -> None:
    tracker = ByteTracker(TrackerConfig(track_buffer=BUFFER), variant)
    _run(tracker, [*[[(_walker(f), 0.9)] for f in range(10)], *[[]] * (BUFFER + 1)])
    assert {t.track_id for t in tracker.lost} == {1}
    _run(tracker, [[]])
    assert tracker.lost == []
    # Where it was heading, a new track, which needs its second frame to get its id.
    gap = BUFFER + 2
    ids = _run(tracker, [[(_walker(10 + gap), 0.9)], [(_walker(11 + gap), 0.9)]])
    assert ids == [[None], [2]]


def test_low_scores_extend_tracks_but_never_start_one() -> None:
    tracker = ByteTracker()
    # A confident box starts track 1 (the first frame's tracks are confirmed at once); then
    # the same person, half hidden, scores 0.15, and a weak box elsewhere is never anyone.
    ids = _run(
        tracker,
        [[(_walker(0), 0.9)], *[[(_walker(f), 0.15), (FAR, 0.15)] for f in range(1, 6)]],
    )
    assert ids == [[1], *[[1, None]] * 5]
    assert {t.track_id for t in tracker.tracked} == {1}

    # A score at or under track_low_thresh is not looked at: the track is lost. Weak boxes
    # only extend a track followed until the last frame: once lost, it takes a confident box
    # to find it again.
    ids = _run(tracker, [[(_walker(6), 0.1)], [(_walker(7), 0.15)], [(_walker(8), 0.6)]])
    assert ids == [[None], [None], [1]]


def test_a_new_track_needs_a_second_frame() -> None:
    tracker = ByteTracker()
    ids = _run(tracker, [[], [(_walker(1), 0.9)], [(_walker(2), 0.9)]])
    # Frame 1 had nothing; a track started after it is confirmed by its second box.
    assert ids == [[], [None], [1]]

    # Seen once: dropped, its id spent (the reference's ids, not reissued).
    ids = _run(tracker, [[(_walker(3), 0.9), (FAR, 0.9)], [(_walker(4), 0.9)]])
    assert ids == [[1, None], [1]]
    assert {t.track_id for t in (*tracker.tracked, *tracker.lost)} == {1}
    ids = _run(tracker, [[(_walker(5), 0.9), (FAR, 0.9)], [(_walker(6), 0.9), (FAR, 0.9)]])
    assert ids == [[1, None], [1, 3]]


@pytest.mark.parametrize("variant", VARIANTS)
def test_tracking_imports_neither_torch_nor_ultralytics(variant: Variant) -> None:
    code = f"""
import sys
from shared.params import TrackingParams
from worker.detectors.base import Detection
from worker.engine.analysers.tracking import RawTracker

tracker = RawTracker(TrackingParams(tracker={variant!r}), analysed_fps=25)
for x in range(5):
    ids = tracker.update([Detection("person", 0.9, 10 + x, 10, 50 + x, 110, "yolo")])
assert ids == [1], ids
print(sorted(m for m in ("torch", "ultralytics") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert done.stdout.strip() == "[]"
