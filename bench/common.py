"""What both benchmarks share: the model they compare, warm-up and summary statistics."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from shared.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def quiet_ultralytics() -> None:
    # Ultralytics resets its logger when imported and prints every model load to stdout,
    # which would break up the table; warnings still get through.
    logging.getLogger("ultralytics").setLevel(logging.WARNING)


def model_path() -> Path:
    """The weights the worker uses, so the bare loop and the pipeline run the same model."""
    settings = get_settings()
    return (settings.model_dir / settings.model_name).resolve()


def load_bare_model(warmup_frame: np.ndarray) -> Any:
    """A plain ultralytics YOLO, compiled by one untimed predict: exported formats compile
    on their first call, a one-time cost the worker also pays at start-up."""
    from ultralytics import YOLO

    quiet_ultralytics()
    model = YOLO(str(model_path()), task="detect")
    model.predict(warmup_frame, conf=0.25, verbose=False)
    return model


def read_image(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise SystemExit(f"cannot read {path}")
    return frame


def show(lines: list[str]) -> None:
    # Flushed section by section, so the figures already measured survive a later failure
    # (a stack that fails to start) and long runs show progress.
    print("\n".join(lines), flush=True)


def time_ms(action: Callable[[], object], count: int) -> list[float]:
    """Wall time of `count` sequential calls, in milliseconds."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(samples, q)) if samples else float("nan")


def positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value:g}")
    return value
