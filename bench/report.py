"""The printed table and the `--json` document, from the same numbers."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from bench.common import model_path, percentile
from bench.image_endpoint import ImageResult
from bench.video import VideoResult
from shared.params import DETECTOR_KINDS


def _round(value: float, digits: int = 2) -> float | None:
    # JSON has no NaN; a missing figure is null.
    return None if math.isnan(value) else round(value, digits)


def video_lines(result: VideoResult) -> list[str]:
    passes = len(result.side("baseline"))
    lines = [
        f"video  {result.video.name}  {result.frames} frames"
        + (f"  ({passes} passes each)" if passes > 1 else ""),
        f"  baseline (bare ultralytics loop)   {result.fps('baseline'):6.1f} fps",
        f"  vigil, default job (objects)       {result.fps('vigil'):6.1f} fps"
        f"   ratio {result.ratio('vigil'):5.2f}",
        f"  vigil, full suite                  {result.fps('full'):6.1f} fps"
        f"   ratio {result.ratio('full'):5.2f}",
        f"    ({', '.join(DETECTOR_KINDS)} + tracking, a zone and a line;",
        "     ratio = fps / baseline fps; every detector reads the same decoded frame)",
    ]
    if not result.frame_counts_agree:
        counts = ", ".join(f"{run.side} {run.frames}" for run in result.runs)
        lines.append(f"  WARNING: frame counts differ between passes: {counts}")
    return lines


def image_lines(result: ImageResult) -> list[str]:
    def row(label: str, samples: list[float]) -> str:
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        return f"  {label:<24} p50 {p50:5.0f} ms   p95 {p95:5.0f} ms"

    lines = [
        f"image  {result.image.name}  {result.requests} requests",
        row("in-process predict", result.in_process_ms),
        row("POST /process/image", result.endpoint_ms),
        f"  ratio endpoint/in-process p50      {result.ratio:6.1f}",
    ]
    if result.errors:
        lines.append(f"  ERRORS: {len(result.errors)} request(s) not answered 200")
        lines += [f"    {error}" for error in result.errors]
    return lines


def header_lines() -> list[str]:
    # Other processes on a small machine move the figures more than anything measured here;
    # the load at the start says how far to trust them.
    load = os.getloadavg()[0]
    return [f"model  {model_path().name}  ({os.cpu_count()} CPUs, load {load:.2f} at start)"]


def _latency(samples: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": _round(percentile(samples, 50)),
        "p95_ms": _round(percentile(samples, 95)),
        "samples_ms": [round(sample, 2) for sample in samples],
    }


def video_json(result: VideoResult) -> dict[str, Any]:
    return {
        "file": str(result.video),
        "frames": result.frames,
        "baseline_fps": _round(result.fps("baseline")),
        "vigil_fps": _round(result.fps("vigil")),
        "ratio": _round(result.ratio("vigil"), 3),
        "full_suite_fps": _round(result.fps("full")),
        "full_suite_ratio": _round(result.ratio("full"), 3),
        "runs": [
            {"side": run.side, "frames": run.frames, "seconds": round(run.seconds, 3)}
            for run in result.runs
        ],
    }


def image_json(result: ImageResult) -> dict[str, Any]:
    return {
        "file": str(result.image),
        "requests": result.requests,
        "in_process": _latency(result.in_process_ms),
        "endpoint": _latency(result.endpoint_ms),
        "ratio_p50": _round(result.ratio, 3),
        "errors": result.errors,
    }


def write_json(path: Path, video: VideoResult | None, image: ImageResult | None) -> None:
    document = {
        "model": str(model_path()),
        "cpus": os.cpu_count(),
        "video": video_json(video) if video is not None else None,
        "image": image_json(image) if image is not None else None,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
