"""Asks the live workers which models they serve (the `vigil_models` control command)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from api.models.schemas import ModelList, ModelRead
from shared.contracts import MODELS_CONTROL_COMMAND
from shared.enqueue import celery_client

REPLY_TIMEOUT_S = 1.0


def _ask_workers() -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = (
        celery_client().control.broadcast(
            MODELS_CONTROL_COMMAND, reply=True, timeout=REPLY_TIMEOUT_S
        )
        or []
    )
    return replies


async def served_models() -> ModelList:
    replies = await run_in_threadpool(_ask_workers)
    by_key: dict[tuple[str, str | None], ModelRead] = {}
    for reply in replies:
        for worker, answer in reply.items():
            for model in answer.get("models", []):
                key = (model["name"], model.get("sha256"))
                if key not in by_key:
                    by_key[key] = ModelRead.model_validate(model | {"workers": []})
                by_key[key].workers.append(worker)
    return ModelList(models=list(by_key.values()), workers_answering=len(replies))
