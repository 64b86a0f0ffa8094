"""Builds the configured detectors as a worker process starts, so the first job does not pay
for loading and compiling models."""

from __future__ import annotations

import logging
import time

import numpy as np

from shared.params import DETECTOR_PARAMS, JobParams
from shared.settings import get_settings
from worker.detectors.registry import get_detector

logger = logging.getLogger(__name__)


def warm_up() -> None:
    kinds = get_settings().warmup_detectors
    if not kinds:
        return
    defaults = JobParams(detectors=tuple(DETECTOR_PARAMS[kind]() for kind in kinds))
    blank = np.zeros((640, 640, 3), dtype=np.uint8)
    started = time.perf_counter()
    for params in defaults.resolved_detectors():
        try:
            get_detector(params).detect(blank)
        except Exception:
            # A worker that cannot warm a detector still serves the others; the job that
            # needs it reports why.
            logger.exception("warm-up of detector %s failed", params.kind)
    logger.info("warm-up of %s took %.2fs", ", ".join(kinds), time.perf_counter() - started)
