"""Asks the live workers which models they serve (the `vigil_models` control command)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from api.models.schemas import DetectorRead, ModelList, ModelRead
from shared.contracts import MODELS_CONTROL_COMMAND
from shared.enqueue import celery_client
from shared.params import DETECTOR_PARAMS

REPLY_TIMEOUT_S = 1.0


def _ask_workers() -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = (
        celery_client().control.broadcast(
            MODELS_CONTROL_COMMAND, reply=True, timeout=REPLY_TIMEOUT_S
        )
        or []
    )
    return replies


def _detectors(warm: dict[str, list[str]]) -> list[DetectorRead]:
    return [
        DetectorRead(
            kind=kind,
            description=(cls.__doc__ or "").strip(),
            parameters=cls.model_json_schema(),
            defaults=cls().model_dump(mode="json"),
            loaded=bool(warm.get(kind)),
            workers=warm.get(kind, []),
        )
        for kind, cls in DETECTOR_PARAMS.items()
    ]


async def served_models() -> ModelList:
    replies = await run_in_threadpool(_ask_workers)
    by_key: dict[tuple[str, str | None], ModelRead] = {}
    warm: dict[str, list[str]] = {}
    for reply in replies:
        for worker, answer in reply.items():
            for model in answer.get("models", []):
                key = (model["name"], model.get("sha256"))
                if key not in by_key:
                    by_key[key] = ModelRead.model_validate(model | {"workers": []})
                by_key[key].workers.append(worker)
            for kind in answer.get("detectors", []):
                warm.setdefault(kind, []).append(worker)
    return ModelList(
        models=list(by_key.values()), detectors=_detectors(warm), workers_answering=len(replies)
    )
