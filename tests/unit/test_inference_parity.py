"""Our OpenVINO engine (worker/inference/) against ultralytics' predictor on the same model: the
same accuracy on coco128 (AP50 per class, mAP50), the same people counted on a crowded video,
and the same boxes. Each engine's predictions are made once per module and shared by the tests.

ultralytics (and torch with it) is imported only by the fixtures that run it: without it, the
tests that need it are skipped and the AP computation's own tests still run. The figures are
printed past pytest's output capture: a passing run's log shows them too."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import MEDIA_DIR, SHARED_DIR
from worker.inference.nms import Boxes
from worker.inference.openvino_engine import OpenVinoEngine

MODELS = SHARED_DIR / "models"
YOLOV8N, YOLO11N = "yolov8n_int8_openvino_model", "yolo11n_int8_openvino_model"
COCO128 = SHARED_DIR / "datasets" / "coco128-train"
PEDESTRIANS = MEDIA_DIR / "video" / "pedestrians_vtest.avi"

# The floor both engines predict at for mAP (the usual evaluation floor: the whole PR curve).
MAP_CONF = 0.001
# The score a box counts at for the counts and box comparisons (the jobs' default confidence).
COUNT_CONF = 0.25
VIDEO_FRAMES = 120
PERSON = 0

MAX_AP_DIFFERENCE = 0.005
MIN_SAME_COUNT_SHARE = 0.95
MIN_MATCHED_BOX_SHARE = 0.99
MATCH_IOU = 0.99


# --- AP50, all-point interpolated -------------------------------------------------------------


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box with each of `others` (N, 4)."""
    width = (np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])).clip(0)
    height = (np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])).clip(0)
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return np.asarray(inter / (area + areas - inter))


@dataclass(frozen=True)
class Truth:
    """One image's ground-truth boxes: `xyxy` (N, 4) in pixels, `cls` (N,)."""

    xyxy: np.ndarray
    cls: np.ndarray


def average_precision(ranked_hits: np.ndarray, truths: int) -> float:
    """VOC all-point AP: the area under the precision envelope (each point's precision made
    the best at any recall at or beyond it) over recall, for detections ranked best first,
    `ranked_hits` telling which matched a ground-truth box."""
    if truths == 0:
        raise ValueError("AP is undefined for a class without ground truth")
    hits = ranked_hits.astype(np.float64)
    true_positives = np.cumsum(hits)
    recall = np.concatenate(([0.0], true_positives / truths, [1.0]))
    precision = np.concatenate(([0.0], true_positives / np.arange(1, len(hits) + 1), [0.0]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * envelope[steps + 1]))


def ap50_per_class(predictions: Sequence[Boxes], truths: Sequence[Truth]) -> dict[int, float]:
    """AP at IoU 0.5 of every class with ground truth. Per class, detections over all images
    are taken in score order; each matches the unmatched ground-truth box of its image and
    class it overlaps most if that IoU is 0.5 or more (a true positive), else it is a false
    positive: a ground-truth box is matched once, a second detection on it is a false one."""
    classes = sorted({int(c) for truth in truths for c in truth.cls})
    scores: dict[int, list[float]] = {c: [] for c in classes}
    hits: dict[int, list[bool]] = {c: [] for c in classes}
    for boxes, truth in zip(predictions, truths, strict=True):
        matched = np.zeros(len(truth.cls), bool)
        for index in np.argsort(-boxes.conf, kind="stable"):
            cls = int(boxes.cls[index])
            if cls not in scores:
                continue  # a class no image has: no AP to count it against
            candidates = np.flatnonzero((truth.cls == cls) & ~matched)
            hit = False
            if candidates.size:
                overlaps = box_iou(boxes.xyxy[index], truth.xyxy[candidates])
                best = int(np.argmax(overlaps))
                if overlaps[best] >= 0.5:
                    matched[candidates[best]] = hit = True
            scores[cls].append(float(boxes.conf[index]))
            hits[cls].append(hit)
    result = {}
    for cls in classes:
        order = np.argsort(-np.asarray(scores[cls]), kind="stable")
        truth_count = sum(int((truth.cls == cls).sum()) for truth in truths)
        result[cls] = average_precision(np.asarray(hits[cls], bool)[order], truth_count)
    return result


def boxes(rows: Sequence[tuple[float, float, float, float, float, int]]) -> Boxes:
    """Boxes from (x1, y1, x2, y2, conf, cls) rows."""
    array = np.asarray(rows, np.float32).reshape(-1, 6)
    return Boxes(array[:, :4], array[:, 4], array[:, 5])


def truth(rows: Sequence[tuple[float, float, float, float, int]]) -> Truth:
    array = np.asarray(rows, np.float32).reshape(-1, 5)
    return Truth(array[:, :4], array[:, 4].astype(np.int64))


def test_ap_of_a_perfect_ranking_is_one_and_of_nothing_found_is_zero() -> None:
    gt = truth([(0, 0, 10, 10, 0), (20, 20, 30, 30, 0)])
    assert ap50_per_class([boxes([(0, 0, 10, 10, 0.9, 0), (20, 20, 30, 30, 0.8, 0)])], [gt]) == {
        0: 1.0
    }
    assert ap50_per_class([boxes([(50, 50, 60, 60, 0.9, 0)])], [gt]) == {0: 0.0}
    assert ap50_per_class([boxes([])], [gt]) == {0: 0.0}


def test_ap_is_the_area_under_the_precision_envelope() -> None:
    gt = truth([(0, 0, 10, 10, 0), (20, 20, 30, 30, 0)])
    # Hit, miss, hit: precision 1 up to recall 0.5, then 2/3 up to recall 1.
    ranked = boxes([(0, 0, 10, 10, 0.9, 0), (50, 50, 60, 60, 0.8, 0), (20, 20, 30, 30, 0.7, 0)])
    assert ap50_per_class([ranked], [gt])[0] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # One of two found: recall stops at 0.5.
    assert ap50_per_class([boxes([(0, 0, 10, 10, 0.9, 0)])], [gt])[0] == pytest.approx(0.5)
    # A miss ranked first: precision 1/2 at recall 0.5, but the envelope is 2/3 throughout.
    ranked = boxes([(50, 50, 60, 60, 0.95, 0), (0, 0, 10, 10, 0.9, 0), (20, 20, 30, 30, 0.7, 0)])
    assert ap50_per_class([ranked], [gt])[0] == pytest.approx(2 / 3)


def test_ap_counts_a_second_detection_of_one_object_as_false() -> None:
    gt = truth([(0, 0, 10, 10, 0), (20, 20, 30, 30, 0)])
    duplicate = boxes([(0, 0, 10, 10, 0.9, 0), (0, 0, 10, 10, 0.8, 0), (20, 20, 30, 30, 0.7, 0)])
    assert ap50_per_class([duplicate], [gt])[0] == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_ap_needs_iou_half_the_same_class_and_the_same_image() -> None:
    gt = truth([(0, 0, 10, 10, 0), (0, 0, 10, 10, 1)])
    # IoU 0.5 exactly (10 x 10 against 10 x 20 over it) counts; IoU 0.45 does not.
    assert ap50_per_class([boxes([(0, 0, 10, 20, 0.9, 0)])], [gt])[0] == 1.0
    assert ap50_per_class([boxes([(0, 0, 10, 22, 0.9, 0)])], [gt])[0] == 0.0
    # The class-1 box found as class 0: class 0's object is matched, class 1's is not.
    found = ap50_per_class([boxes([(0, 0, 10, 10, 0.9, 0)])], [gt])
    assert found == {0: 1.0, 1: 0.0}
    # Another image's object is no match.
    empty = truth([])
    assert ap50_per_class([boxes([]), boxes([(0, 0, 10, 10, 0.9, 0)])], [gt, empty])[0] == 0.0


def test_ap_ranks_detections_across_images_by_score() -> None:
    one, other = truth([(0, 0, 10, 10, 0)]), truth([(0, 0, 10, 10, 0)])
    # The miss in the second image outranks the hit there: hit, miss, hit.
    predictions = [
        boxes([(0, 0, 10, 10, 0.9, 0)]),
        boxes([(50, 50, 60, 60, 0.8, 0), (0, 0, 10, 10, 0.7, 0)]),
    ]
    assert ap50_per_class(predictions, [one, other])[0] == pytest.approx(0.5 + 0.5 * 2 / 3)


# --- Both engines' predictions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> Path:
    """The model a test names by `every_model` or `yolov8n_only`."""
    path: Path = MODELS / request.param
    return path


# coco128 with yolov8n, and yolo11n too where PARITY_ALL_MODELS=1 (another 256 inferences,
# about 15 s on two cores: over this module's share of `make test`); the video with yolov8n.
COCO_MODELS = [YOLOV8N, *([YOLO11N] if os.environ.get("PARITY_ALL_MODELS") == "1" else [])]
every_model = pytest.mark.parametrize("model", COCO_MODELS, indirect=True)
yolov8n_only = pytest.mark.parametrize("model", [YOLOV8N], indirect=True)


@pytest.fixture(scope="module")
def ultralytics_model(model: Path) -> Any:
    """ultralytics' predictor on the model, with its defaults (IoU 0.7, 300 boxes)."""
    ultralytics = pytest.importorskip(
        "ultralytics", reason="ultralytics is not installed: nothing to compare our engine with"
    )
    return ultralytics.YOLO(str(model), task="detect")


@pytest.fixture(scope="module")
def our_engine(model: Path, tmp_path_factory: pytest.TempPathFactory) -> OpenVinoEngine:
    return OpenVinoEngine(model, tmp_path_factory.mktemp("compiled"))


def their_boxes(model: Any, frame: np.ndarray, conf: float) -> Boxes:
    found = model.predict(frame, conf=conf, verbose=False)[0].boxes
    return Boxes(found.xyxy.numpy(), found.conf.numpy(), found.cls.numpy())


@dataclass(frozen=True)
class Predictions:
    ours: list[Boxes]
    theirs: list[Boxes]


def predict_both(
    frames: Iterator[np.ndarray], engine: OpenVinoEngine, model: Any, conf: float
) -> Predictions:
    """Each frame through both engines, ours on its own threads while ultralytics runs here."""
    ours, theirs = [], []
    for frame in frames:
        future = engine.submit(frame, conf)
        theirs.append(their_boxes(model, frame, conf))
        ours.append(future.result())
    return Predictions(ours, theirs)


def coco_images() -> list[Path]:
    images = sorted((COCO128 / "images").glob("*.jpg"))
    assert len(images) == 128
    return images


def read_image(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path))
    assert frame is not None, path
    return frame


def read_truth(image: Path, frame: np.ndarray) -> Truth:
    labels = COCO128 / "labels" / f"{image.stem}.txt"
    # An image without a label file (2 of them) or with an empty one has no objects.
    has_rows = labels.is_file() and labels.stat().st_size > 0
    rows = np.loadtxt(labels, ndmin=2) if has_rows else np.zeros((0, 5))
    height, width = frame.shape[:2]
    cx, cy, w, h = rows[:, 1] * width, rows[:, 2] * height, rows[:, 3] * width, rows[:, 4] * height
    xyxy = np.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), axis=1)
    return Truth(xyxy, rows[:, 0].astype(np.int64))


@dataclass(frozen=True)
class Coco:
    truths: list[Truth]
    predictions: Predictions


@pytest.fixture(scope="module")
def coco(ultralytics_model: Any, our_engine: OpenVinoEngine) -> Coco:
    images = coco_images()
    frames = [read_image(image) for image in images]
    truths = [read_truth(image, frame) for image, frame in zip(images, frames, strict=True)]
    assert sum(len(t.cls) for t in truths) > 900  # the labels were read
    predictions = predict_both(iter(frames), our_engine, ultralytics_model, MAP_CONF)
    return Coco(truths, predictions)


def video_frames(path: Path, count: int) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        for _ in range(count):
            ok, frame = capture.read()
            assert ok, f"{path.name} ended before frame {count}"
            yield frame
    finally:
        capture.release()


@pytest.fixture(scope="module")
def pedestrians(ultralytics_model: Any, our_engine: OpenVinoEngine) -> Predictions:
    frames = video_frames(PEDESTRIANS, VIDEO_FRAMES)
    return predict_both(frames, our_engine, ultralytics_model, COUNT_CONF)


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Prints past pytest's capture, so that the figures are in the log of a passing run."""

    def say(line: str) -> None:
        with capsys.disabled():
            print(f"\n[parity] {line}", end="")

    return say


# --- Parity ----------------------------------------------------------------------------------


@every_model
def test_map50_on_coco128_is_the_same_per_class(
    model: Path, coco: Coco, report: Callable[[str], None]
) -> None:
    ours = ap50_per_class(coco.predictions.ours, coco.truths)
    theirs = ap50_per_class(coco.predictions.theirs, coco.truths)
    assert ours.keys() == theirs.keys()
    differences = {cls: abs(ours[cls] - theirs[cls]) for cls in ours}
    worst = max(differences, key=lambda cls: differences[cls])
    map_ours, map_theirs = np.mean(list(ours.values())), np.mean(list(theirs.values()))
    report(
        f"{model.name} coco128 mAP50: ours {map_ours:.4f}, ultralytics {map_theirs:.4f} "
        f"({len(ours)} classes); largest per-class AP50 difference {differences[worst]:.4f} "
        f"(class {worst})"
    )
    # Not both degenerate: the model really finds COCO's objects (int8 yolov8n, yolo11n: 0.6+).
    assert map_ours > 0.45
    assert abs(map_ours - map_theirs) <= MAX_AP_DIFFERENCE
    over = {cls: round(d, 4) for cls, d in differences.items() if d > MAX_AP_DIFFERENCE}
    assert not over, f"classes whose AP50 differs by more than {MAX_AP_DIFFERENCE}: {over}"


def matched_share(ours: Sequence[Boxes], theirs: Sequence[Boxes], conf: float) -> float:
    """The share of boxes at `conf` or above, of both engines, that have a box of the same
    class from the other engine at IoU MATCH_IOU or more (each box matched once)."""
    matched = total = 0
    for mine, other in zip(ours, theirs, strict=True):
        keep_mine, keep_other = mine.conf >= conf, other.conf >= conf
        xyxy, cls = other.xyxy[keep_other], other.cls[keep_other]
        free = np.ones(len(cls), bool)
        for box, label in zip(mine.xyxy[keep_mine], mine.cls[keep_mine], strict=True):
            candidates = np.flatnonzero((cls == label) & free)
            if candidates.size:
                overlaps = box_iou(box, xyxy[candidates])
                best = int(np.argmax(overlaps))
                if overlaps[best] >= MATCH_IOU:
                    free[candidates[best]] = False
                    matched += 2
        total += int(keep_mine.sum()) + int(keep_other.sum())
    assert total > 0
    return matched / total


@every_model
def test_the_boxes_are_the_same_on_coco128(
    model: Path, coco: Coco, report: Callable[[str], None]
) -> None:
    share = matched_share(coco.predictions.ours, coco.predictions.theirs, COUNT_CONF)
    report(f"{model.name} coco128 boxes at conf >= {COUNT_CONF}: {share:.2%} matched")
    assert share >= MIN_MATCHED_BOX_SHARE


@yolov8n_only
def test_the_boxes_are_the_same_on_the_pedestrian_video(
    model: Path, pedestrians: Predictions, report: Callable[[str], None]
) -> None:
    share = matched_share(pedestrians.ours, pedestrians.theirs, COUNT_CONF)
    report(f"{model.name} pedestrian boxes at conf >= {COUNT_CONF}: {share:.2%} matched")
    assert share >= MIN_MATCHED_BOX_SHARE


def people(predictions: Sequence[Boxes]) -> list[int]:
    return [int(((b.cls == PERSON) & (b.conf >= COUNT_CONF)).sum()) for b in predictions]


@yolov8n_only
def test_the_same_people_are_counted_on_the_pedestrian_video(
    model: Path, pedestrians: Predictions, report: Callable[[str], None]
) -> None:
    ours, theirs = people(pedestrians.ours), people(pedestrians.theirs)
    same = sum(a == b for a, b in zip(ours, theirs, strict=True)) / len(ours)
    report(
        f"{model.name} pedestrian person counts equal on {same:.1%} of {len(ours)} frames "
        f"(ours {sum(ours)} people in all, ultralytics {sum(theirs)})"
    )
    assert np.mean(ours) > 10  # a crowd, not an engine that finds nobody
    assert same >= MIN_SAME_COUNT_SHARE
