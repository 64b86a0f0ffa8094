from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from api.metrics.service import ApiMetrics, check_token
from shared.settings import get_settings

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Prometheus text format: the API's request metrics, the workers' job metrics, the queue
    depths and the cameras' states."""
    settings = get_settings()
    check_token(authorization, settings.metrics_token, open_without=settings.env == "dev")
    registry: ApiMetrics = request.app.state.metrics
    # This process's latest requests, so that a scrape sees every request it has answered.
    await registry.http.flush(request.app.state.redis)
    await registry.cameras.refresh()
    return Response(await run_in_threadpool(registry.render), media_type=CONTENT_TYPE_LATEST)
