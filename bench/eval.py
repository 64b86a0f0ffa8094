"""`python -m bench.eval` (`make eval`): person-detection accuracy of the `people` strategies
on COCO128, the strategies compared at equal precision, then face and motion sanity checks.

A detection matches the unclaimed ground-truth person it overlaps most (IoU >= 0.5), most
confident detection first. The threshold sweeps filter one pass of raw detections through
the detector's own pure `fuse` and `keep_confident`, so each operating point is what the
detector would report at those settings."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO_ROOT, model_path, quiet_ultralytics, read_image, show
from shared.params import FacesParams, PeopleParams
from worker.detectors.base import Detection, Detector
from worker.detectors.plugins.people import fuse, keep_confident
from worker.detectors.registry import get_detector
from worker.detectors.yolo import FLOOR_CONFIDENCE

COCO = REPO_ROOT.parent / "shared" / "datasets" / "coco128-train"
PERSON_CLASS = "0"
MATCH_IOU = 0.5
# JobParams.confidence_threshold's default, which a job's `people` detector inherits.
JOB_CONFIDENCE = 0.25
FUSION_IOU = PeopleParams().fusion_iou
DEFAULT_SETTINGS: dict[str, dict[str, float]] = {
    "yolo": {"confidence": JOB_CONFIDENCE},
    "hog": {"hog_confidence": PeopleParams().hog_confidence},
    "fused": {
        "confidence": JOB_CONFIDENCE,
        "hog_confidence": PeopleParams().hog_confidence,
        "fusion_iou": FUSION_IOU,
    },
}
# JobParams bounds confidence to 0.1..0.9; the HOG score spans 0..1.
CONFIDENCE_GRID = [round(0.1 + 0.05 * i, 2) for i in range(17)]
HOG_GRID = [round(0.05 * i, 2) for i in range(21)]
# ultralytics' photos, with the people in each.
PHOTOS = {"zidane.jpg": 2, "bus.jpg": 4}

PerImage = list[list[Detection]]


@dataclass(frozen=True)
class Sample:
    image: Path
    labelled: bool
    truths: list[Detection]


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    truths: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / self.truths if self.truths else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def cells(self) -> str:
        return f"{self.tp:4d} {self.fp:5d}  {self.precision:6.3f} {self.recall:6.3f} {self.f1:6.3f}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "truths": self.truths,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


@dataclass(frozen=True)
class OperatingPoint:
    strategy: str
    settings: dict[str, float]
    score: Score

    def row(self) -> str:
        return f"  {self.strategy:<8} {settings_text(self.settings):<54} {self.score.cells()}"

    def as_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "settings": self.settings, **self.score.as_dict()}


@dataclass
class Run:
    """Each strategy's output at its default settings and its per-image latency, plus the
    raw candidates (YOLO persons at the floor score, every HOG box) the sweeps filter."""

    outputs: dict[str, PerImage] = field(default_factory=dict)
    latency_ms: dict[str, list[float]] = field(default_factory=dict)
    yolo_raw: PerImage = field(default_factory=list)
    hog_raw: PerImage = field(default_factory=list)


def _round(value: float, digits: int = 4) -> float | None:
    # JSON has no NaN; a missing figure is null.
    return None if np.isnan(value) else round(value, digits)


def settings_text(settings: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in settings.items())


def person_truths(label_file: Path, width: int, height: int) -> list[Detection]:
    """The person boxes of a YOLO label file (`cls cx cy w h`, normalised), in pixels."""
    truths = []
    for line in label_file.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == PERSON_CLASS:
            cx, cy, w, h = (float(v) for v in parts[1:])
            x1, y1 = (cx - w / 2) * width, (cy - h / 2) * height
            truths.append(Detection("person", 1.0, x1, y1, x1 + w * width, y1 + h * height, "coco"))
    return truths


def load_samples(root: Path) -> list[Sample]:
    """Every image; one without a label file has no objects, so no people."""
    samples = []
    for image in sorted((root / "images").glob("*.jpg")):
        label_file = root / "labels" / f"{image.stem}.txt"
        if not label_file.is_file():
            samples.append(Sample(image, labelled=False, truths=[]))
            continue
        height, width = read_image(image).shape[:2]
        samples.append(Sample(image, True, person_truths(label_file, width, height)))
    return samples


def match(detections: Sequence[Detection], truths: Sequence[Detection]) -> list[int | None]:
    """For each detection, most confident first, the index of the truth it claims, if any."""
    claimed: list[int | None] = []
    for detection in sorted(detections, key=lambda d: d.confidence, reverse=True):
        free = [(detection.iou(t), i) for i, t in enumerate(truths) if i not in claimed]
        overlap, index = max(free, default=(0.0, 0))
        claimed.append(index if overlap >= MATCH_IOU else None)
    return claimed


def score(per_image: Sequence[Sequence[Detection]], samples: Sequence[Sample]) -> Score:
    tp = fp = 0
    for detections, sample in zip(per_image, samples, strict=True):
        hits = sum(index is not None for index in match(detections, sample.truths))
        tp, fp = tp + hits, fp + len(detections) - hits
    return Score(tp, fp, sum(len(s.truths) for s in samples))


def people_detector(strategy: str, **settings: float) -> Detector[Any]:
    params = {"strategy": strategy, "min_box_size": 0, **settings}
    return get_detector(PeopleParams.model_validate(params))


def timed(detector: Detector[Any], frame: np.ndarray) -> tuple[list[Detection], float]:
    # A fresh copy per call: the shared YOLO runner remembers the last frame object, and its
    # remembered answer would make the second YOLO strategy look free.
    own = frame.copy()
    started = time.perf_counter()
    detections = detector.detect(own)
    return detections, (time.perf_counter() - started) * 1000


def run_strategies(samples: Sequence[Sample]) -> Run:
    detectors = {s: people_detector(s, **settings) for s, settings in DEFAULT_SETTINGS.items()}
    yolo_raw = people_detector("yolo", confidence=FLOOR_CONFIDENCE)
    hog_raw = people_detector("hog", hog_confidence=0.0)
    run = Run(outputs={s: [] for s in detectors}, latency_ms={s: [] for s in detectors})
    first = read_image(samples[0].image)
    for detector in detectors.values():
        detector.detect(first.copy())  # untimed: the first full-size frame pays one-off setup
    for sample in samples:
        frame = read_image(sample.image)
        for strategy, detector in detectors.items():
            detections, ms = timed(detector, frame)
            run.outputs[strategy].append(detections)
            run.latency_ms[strategy].append(ms)
        run.yolo_raw.append(yolo_raw.detect(frame))
        run.hog_raw.append(hog_raw.detect(frame))
    return run


def sweep(
    strategy: str,
    grid: Sequence[dict[str, float]],
    outputs_at: Callable[[dict[str, float]], PerImage],
    samples: Sequence[Sample],
) -> list[OperatingPoint]:
    return [OperatingPoint(strategy, s, score(outputs_at(s), samples)) for s in grid]


def sweeps(run: Run, samples: Sequence[Sample]) -> dict[str, list[OperatingPoint]]:
    """Every strategy over its thresholds' grid (fusion IoU at its default)."""
    fused_raw = [fuse(y, h, FUSION_IOU) for y, h in zip(run.yolo_raw, run.hog_raw, strict=True)]

    def yolo_at(s: dict[str, float]) -> PerImage:
        return [[d for d in image if d.confidence >= s["confidence"]] for image in run.yolo_raw]

    def hog_at(s: dict[str, float]) -> PerImage:
        return [[d for d in image if d.confidence >= s["hog_confidence"]] for image in run.hog_raw]

    def fused_at(s: dict[str, float]) -> PerImage:
        return [keep_confident(image, s["confidence"], s["hog_confidence"]) for image in fused_raw]

    both = [{"confidence": c, "hog_confidence": h} for c in CONFIDENCE_GRID for h in HOG_GRID]
    return {
        "yolo": sweep("yolo", [{"confidence": c} for c in CONFIDENCE_GRID], yolo_at, samples),
        "hog": sweep("hog", [{"hog_confidence": h} for h in HOG_GRID], hog_at, samples),
        "fused": sweep("fused", both, fused_at, samples),
    }


def best_recall(points: Sequence[OperatingPoint], min_precision: float) -> OperatingPoint | None:
    """The highest recall among points at least `min_precision` precise (ties: more precise)."""
    eligible = [p for p in points if p.score.precision >= min_precision]
    return max(eligible, key=lambda p: (p.score.recall, p.score.precision), default=None)


def hog_only_finds(run: Run, samples: Sequence[Sample]) -> int:
    """People some HOG box finds (at any score) that no YOLO box does even at the floor score:
    the most recall fusion could ever add."""
    count = 0
    for yolo, hog, sample in zip(run.yolo_raw, run.hog_raw, samples, strict=True):
        by_yolo = set(match(yolo, sample.truths)) - {None}
        count += len(set(match(hog, sample.truths)) - {None} - by_yolo)
    return count


def verdict(yolo: OperatingPoint | None, fused: OperatingPoint | None) -> str:
    if yolo is None or fused is None:
        return "fusion never reaches YOLO's precision: it does not pay"
    gain = (fused.score.recall - yolo.score.recall) * 100
    if gain > 0:
        return f"fusion raises recall by {gain:.1f} points at equal precision"
    return f"fusion does not raise recall at equal precision ({gain:+.1f} points)"


def people_section(samples: Sequence[Sample], run: Run) -> tuple[list[str], dict[str, Any]]:
    truths = sum(len(s.truths) for s in samples)
    unlabelled = sum(not s.labelled for s in samples)
    head = f"  {'strategy':<8} {'settings':<54} {'TP':>4} {'FP':>5}  "
    lines = [
        f"people  {COCO.name}: {len(samples)} images ({unlabelled} without labels: no people), "
        f"{truths} person boxes; a match needs IoU >= {MATCH_IOU}",
        head + f"{'prec':>6} {'recall':>6} {'F1':>6}  {'ms/img':>6}",
    ]
    defaults: dict[str, Any] = {}
    for strategy, settings in DEFAULT_SETTINGS.items():
        point = OperatingPoint(strategy, settings, score(run.outputs[strategy], samples))
        ms = float(np.mean(run.latency_ms[strategy]))
        lines.append(f"{point.row()}  {ms:6.1f}")
        defaults[strategy] = {**point.as_dict(), "mean_ms": round(ms, 2)}
    target = score(run.outputs["yolo"], samples).precision
    points = sweeps(run, samples)
    best = {strategy: best_recall(points[strategy], target) for strategy in points}
    hog_only = hog_only_finds(run, samples)
    conclusion = verdict(best["yolo"], best["fused"])
    lines += [
        "",
        f"  best recall at precision >= {target:.3f} (YOLO's at confidence {JOB_CONFIDENCE}), "
        "thresholds swept in steps of 0.05:",
        *(p.row() if p else f"  {s:<8} no setting reaches that precision" for s, p in best.items()),
        f"  people only HOG finds (any HOG score, no YOLO box >= {FLOOR_CONFIDENCE}): {hog_only}",
        f"  verdict: {conclusion}",
    ]
    figures = {
        "defaults": defaults,
        "target_precision": _round(target),
        "at_target_precision": {s: p.as_dict() if p else None for s, p in best.items()},
        "hog_only_finds": hog_only,
        "verdict": conclusion,
    }
    return lines, figures


def ultralytics_asset(name: str) -> Path:
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / name


def inside(inner: Detection, outer: Detection) -> bool:
    return (
        inner.x1 >= outer.x1 and inner.y1 >= outer.y1
        and inner.x2 <= outer.x2 and inner.y2 <= outer.y2
    )  # fmt: skip


def faces_section() -> tuple[list[str], dict[str, Any]]:
    """Faces in ultralytics' photos, and how many lie inside a YOLO person box: a face outside
    every person is almost surely false."""
    faces = get_detector(FacesParams())
    people = people_detector("yolo", confidence=JOB_CONFIDENCE)
    lines = ["", "faces  Haar cascade, default FacesParams"]
    figures: dict[str, Any] = {}
    for name, people_in_photo in PHOTOS.items():
        frame = read_image(ultralytics_asset(name))
        found = faces.detect(frame)
        persons = people.detect(frame)
        on_person = sum(any(inside(f, p) for p in persons) for f in found)
        scores = [round(f.confidence, 3) for f in found]
        lines.append(
            f"  {name:<11} {len(found)} face(s), {on_person} inside a person box "
            f"({people_in_photo} people in the photo; confidences {scores})"
        )
        figures[name] = {"faces": len(found), "inside_person": on_person, "confidences": scores}
    return lines, figures


def motion_section() -> list[str]:
    # bench/motion_sanity.py belongs to the motion detector; without it the rest still runs.
    try:
        from bench.motion_sanity import report
    except ImportError as exc:
        return ["", f"motion sanity unavailable ({exc})"]
    return ["", report()]


def header() -> str:
    load = os.getloadavg()[0]
    return f"model  {model_path().name}  ({os.cpu_count()} CPUs, load {load:.2f} at start)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_ultralytics()
    show([header()])
    samples = load_samples(COCO)
    people_lines, people = people_section(samples, run_strategies(samples))
    show(people_lines)
    face_lines, faces = faces_section()
    show(face_lines)
    motion_lines = motion_section()
    show(motion_lines)
    if args.json is not None:
        document = {
            "model": str(model_path()),
            "cpus": os.cpu_count(),
            "people": people,
            "faces": faces,
            "motion": "\n".join(motion_lines).strip(),
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
