"""The worker's Celery app (`celery -A worker.celery_app worker`). Importing it loads no model."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown
from celery.worker.control import inspect_command

from shared.celery_config import make_celery
from shared.configured import check_worker_settings, warmup_detectors
from shared.contracts import MODELS_CONTROL_COMMAND
from shared.settings import get_settings

logger = logging.getLogger(__name__)

check_worker_settings(get_settings())
app = make_celery("vigil-worker")
app.conf.update(
    include=["worker.tasks.analyze", "worker.tasks.maintenance"],
    worker_concurrency=get_settings().worker_concurrency,
    # Warming the model in a fresh child can take several seconds on a small CPU.
    worker_proc_alive_timeout=120,
)


@worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Build the detectors in each child as it starts, so the first job does not pay for them."""
    from worker.services.warmup import warm_up

    warm_up()


@worker_process_shutdown.connect
def _close(**_: Any) -> None:
    from worker import runtime

    runtime.shutdown()


@inspect_command(name=MODELS_CONTROL_COMMAND)
def _served_models(state: Any, **_: Any) -> dict[str, Any]:
    """Answered by the worker's main process from the weight files; no model is loaded here.
    Detectors are built in the pool's children, so `detectors` lists what warm-up builds there
    (the rest load on first use)."""
    from worker.detectors.models import describe_model

    return {
        "models": [describe_model(get_settings().model_name).as_dict()],
        "detectors": warmup_detectors(get_settings()),
    }
