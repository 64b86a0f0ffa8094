from __future__ import annotations

import logging
import time

import numpy as np

from shared.contracts import JobParams
from worker.services.analysis import build_detector

logger = logging.getLogger(__name__)


def warm_up() -> None:
    started = time.perf_counter()
    try:
        build_detector(JobParams()).detect(np.zeros((640, 640, 3), dtype=np.uint8))
    except Exception:
        # A worker that cannot warm up still serves; the job that needs the model reports why.
        logger.exception("model warm-up failed")
        return
    logger.info("model warm-up took %.2fs", time.perf_counter() - started)
