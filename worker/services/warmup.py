"""Runs each configured detector once as a worker process starts, so the first job does not pay
for loading and compiling models: the models are process-wide, and each loads once."""

from __future__ import annotations

import logging
import time

import numpy as np

from shared.configured import warmup_detectors
from shared.params import DETECTOR_PARAMS, JobParams
from shared.settings import get_settings
from worker.engine.pipeline import Pipeline

logger = logging.getLogger(__name__)


def warm_up() -> None:
    kinds = warmup_detectors(get_settings())
    if not kinds:
        return
    blank = np.zeros((640, 640, 3), dtype=np.uint8)
    started = time.perf_counter()
    for kind in kinds:
        # An image job of that detector alone loads what its analyser needs too (the OCR
        # engine of `plates`).
        params = JobParams(detectors=(DETECTOR_PARAMS[kind](),))
        try:
            Pipeline(params, video=False).process(0, 0.0, blank)
        except Exception:
            # A worker that cannot warm a detector still serves the others; the job that
            # needs it reports why.
            logger.exception("warm-up of detector %s failed", kind)
    logger.info("warm-up of %s took %.2fs", ", ".join(kinds), time.perf_counter() - started)
