"""`python -m bench.eval_anpr` (`make eval-anpr`): plate reading on OpenALPR's US benchmark
images in ../shared/datasets/plates-us-dev, per OCR engine and localisation strategy.

Each image has one labelled plate. The plates detector runs as an image job runs it (YOLO
vehicles, then localisation, OCR and the `us` formats); the reading scored is the one whose
box centre lies in the labelled box (padded by half its size), the most confident if several.
- exact: that reading equals the label after normalisation;
- char accuracy: 1 - edit distance / label length, floored at 0 (a miss scores 0);
- other readings: readings elsewhere in the image (on other cars, or not plates at all);
- latency: the whole image, vehicles included, wall time on this machine; the last column
  over the 1280x720 images alone."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np

from bench.common import REPO_ROOT, percentile, quiet_ultralytics, read_image, show
from shared.params import PlateLocalisation, PlatesParams
from shared.plates import normalise_plate
from worker.anpr.ocr import EASYOCR_FILES, easyocr_dir, easyocr_missing
from worker.anpr.reader import PlateRead, plate_reader
from worker.detectors.registry import get_detector

DATASET = REPO_ROOT.parent / "shared" / "datasets" / "plates-us-dev"
REGION = "us"
ENGINES = ("rapidocr", "easyocr")
STRATEGIES: tuple[PlateLocalisation, ...] = get_args(PlateLocalisation)
LABEL_PAD = 0.5
# The size the latency goal is stated for (height, width).
HD = (720, 1280)


@dataclass(frozen=True)
class Sample:
    image: Path
    box: tuple[float, float, float, float]
    plate: str


@dataclass
class Result:
    engine: str
    strategy: str
    exact: int = 0
    char_accuracy: float = 0.0
    other_reads: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    hd_latencies_ms: list[float] = field(default_factory=list)

    def row(self, total: int) -> dict[str, Any]:
        latencies = self.latencies_ms or [0.0]
        return {
            "engine": self.engine,
            "strategy": self.strategy,
            "exact": self.exact,
            "exact_rate": round(self.exact / total, 4),
            "char_accuracy": round(self.char_accuracy / total, 4),
            "other_reads_per_image": round(self.other_reads / total, 3),
            "mean_ms": round(statistics.mean(latencies), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "mean_ms_1280x720": round(statistics.mean(self.hd_latencies_ms or [0.0]), 1),
        }


def load_samples(root: Path) -> list[Sample]:
    samples = []
    for label in sorted(root.glob("*.txt")):
        fields = label.read_text().strip().split("\t")
        if len(fields) != 6:
            continue  # the licence file
        name, x, y, w, h, plate = fields
        left, top = float(x), float(y)
        samples.append(
            Sample(root / name, (left, top, left + float(w), top + float(h)), plate.strip())
        )
    return samples


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(read: str, truth: str) -> float:
    return max(0.0, 1.0 - edit_distance(read, truth) / len(truth))


def at_label(reads: list[PlateRead], box: tuple[float, float, float, float]) -> PlateRead | None:
    x1, y1, x2, y2 = box
    pad_x, pad_y = LABEL_PAD * (x2 - x1), LABEL_PAD * (y2 - y1)
    hits = [
        r
        for r in reads
        if x1 - pad_x <= (r.box[0] + r.box[2]) / 2 <= x2 + pad_x
        and y1 - pad_y <= (r.box[1] + r.box[3]) / 2 <= y2 + pad_y
    ]
    return max(hits, key=lambda r: r.confidence) if hits else None


def evaluate(engine: str, strategy: PlateLocalisation, samples: list[Sample]) -> Result:
    params = PlatesParams.model_validate({"ocr_engine": engine, "region": REGION})
    detector, reader = get_detector(params), plate_reader(params)
    result = Result(engine, strategy)
    warm = np.zeros((720, 1280, 3), dtype=np.uint8)
    reader.read(warm, [], strategy)
    for sample in samples:
        frame = read_image(sample.image)
        started = time.perf_counter()
        vehicles = [(d.x1, d.y1, d.x2, d.y2) for d in detector.detect(frame)]
        reads = reader.read(frame, vehicles, strategy)
        elapsed_ms = (time.perf_counter() - started) * 1000
        result.latencies_ms.append(elapsed_ms)
        if frame.shape[:2] == HD:
            result.hd_latencies_ms.append(elapsed_ms)
        found = at_label(reads, sample.box)
        truth = normalise_plate(sample.plate)
        text = found.text if found else ""
        result.exact += text == truth
        result.char_accuracy += char_accuracy(text, truth)
        result.other_reads += len(reads) - (found is not None)
    return result


def table(rows: list[dict[str, Any]], total: int) -> list[str]:
    lines = [
        f"plates-us-dev: {total} images, region {REGION!r}",
        "| engine | localisation | exact | exact % | char acc | other reads/img | mean ms "
        "| p95 ms | mean ms 1280x720 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['engine']} | {r['strategy']} | {r['exact']}/{total} | {100 * r['exact_rate']:.1f} "
        f"| {r['char_accuracy']:.3f} | {r['other_reads_per_image']:.2f} | {r['mean_ms']:.0f} "
        f"| {r['p95_ms']:.0f} | {r['mean_ms_1280x720']:.0f} |"
        for r in rows
    ]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_anpr", description=__doc__)
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument(
        "--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES), metavar="S"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_ultralytics()
    samples = load_samples(DATASET)[: args.limit]
    sizes = sorted({read_image(s.image).shape[1::-1] for s in samples})
    show([f"image sizes: {', '.join(f'{w}x{h}' for w, h in sizes)}; {os.cpu_count()} CPUs"])
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for engine in ENGINES:
        if engine == "easyocr" and easyocr_missing(easyocr_dir()):
            skipped.append(
                f"easyocr: not measured, its weights ({', '.join(EASYOCR_FILES)}) are not in "
                f"{easyocr_dir()}"
            )
            continue
        for strategy in args.strategies:
            rows.append(evaluate(engine, strategy, samples).row(len(samples)))
            show([f"  {rows[-1]}"])
    show(["", *table(rows, len(samples)), *skipped])
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "skipped": skipped}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
