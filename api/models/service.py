"""Asks the live workers which models they serve (the `vigil_models` control command).

The answer is shared the way health reports are (api/health/shared_result.py): one broadcast
per VIGIL_HEALTH_CACHE_S, on a thread of its own, however many callers ask."""

from __future__ import annotations

from typing import Any

import anyio
from kombu.exceptions import OperationalError

from api.health.shared_result import SharedResult
from api.models.schemas import DetectorRead, ModelList, ModelRead
from shared.contracts import MODELS_CONTROL_COMMAND
from shared.enqueue import broadcast
from shared.errors import ServiceUnavailableError
from shared.params import DETECTOR_PARAMS
from shared.settings import get_settings

REPLY_WINDOW_S = 1.0
# A broker that hangs costs this one thread, not one of the endpoints' pool per request.
_BROADCAST_THREADS = anyio.CapacityLimiter(1)
_replies: SharedResult[list[dict[str, Any]]] = SharedResult()


async def _ask_workers() -> list[dict[str, Any]]:
    settings = get_settings()
    try:
        with anyio.fail_after(REPLY_WINDOW_S + settings.broker_timeout_s):
            return await anyio.to_thread.run_sync(
                broadcast,
                MODELS_CONTROL_COMMAND,
                REPLY_WINDOW_S,
                limiter=_BROADCAST_THREADS,
                abandon_on_cancel=True,
            )
    except (OperationalError, TimeoutError) as exc:
        raise ServiceUnavailableError(
            "the workers cannot be asked now (the broker is unreachable); try again",
            headers={"Retry-After": str(max(1, round(settings.health_cache_s)))},
        ) from exc


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
    replies = await _replies.get(_ask_workers, get_settings().health_cache_s)
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
