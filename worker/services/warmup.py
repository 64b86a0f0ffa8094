"""Loads the models of each configured detector as a worker process starts, so the first job does
not pay for loading and compiling them: the models are process-wide, and each loads once.

The plate reader's OCR engine is left to the first job that reads plates unless
VIGIL_WARMUP_OCR asks for it here: it brings its runtime and models into the process, which a
worker that never reads a plate need not hold. Warming the `plates` detector loads the model
that finds its vehicles (the shared YOLO), not the OCR engine that reads them."""

from __future__ import annotations

import logging
import time

import numpy as np

from shared.configured import warmup_detectors
from shared.params import DETECTOR_PARAMS, JobParams
from shared.settings import get_settings
from worker.anpr.ocr import warm_up_engine
from worker.detectors.registry import build_detectors, merge_order

logger = logging.getLogger(__name__)


def warm_up() -> None:
    settings = get_settings()
    kinds = warmup_detectors(settings)
    loaded = [*kinds, *(["ocr"] if settings.warmup_ocr else [])]
    if not loaded:
        return
    blank = np.zeros((640, 640, 3), dtype=np.uint8)
    started = time.perf_counter()
    for kind in kinds:
        try:
            _warm_detector(kind, blank)
        except Exception:
            # A worker that cannot warm a detector still serves the others; the job that
            # needs it reports why.
            logger.exception("warm-up of detector %s failed", kind)
    if settings.warmup_ocr:
        try:
            warm_up_engine(blank)
        except Exception:
            logger.exception("warm-up of the OCR engine failed")
    logger.info("warm-up of %s took %.2fs", ", ".join(loaded), time.perf_counter() - started)


def _warm_detector(kind: str, blank: np.ndarray) -> None:
    """Builds the detectors a job of `kind` alone with default parameters gets (the same
    instances: they are cached per config) and runs each once, which loads their models. A
    kind without a Detector class (`motion`) has no model to load."""
    params = JobParams(detectors=(DETECTOR_PARAMS[kind](),))
    for detector in build_detectors(merge_order(params)):
        detector.detect(blank)
