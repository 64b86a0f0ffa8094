"""The API application (`uvicorn api.main:app`)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from tortoise.contrib.fastapi import RegisterTortoise

from api import clients
from api.api_keys.router import router as api_keys_router
from api.auth.router import router as auth_router
from api.body_limit import BodySizeLimitMiddleware
from api.cameras.compat import router as cameras_compat_router
from api.cameras.router import router as cameras_router
from api.cameras.views import router as camera_views_router
from api.compat import add_compatibility_routes
from api.console.router import router as console_router
from api.deps import caller_checks
from api.docs import install_docs
from api.errors import install_error_handlers
from api.events.router import router as events_router
from api.health.router import router as health_router
from api.jobs.router import router as jobs_router
from api.metrics.router import router as metrics_router
from api.metrics.service import ApiMetrics
from api.models.router import router as models_router
from api.observe import ObserveRequests, RedactQueryTokens
from api.openapi import install_openapi
from api.ratelimit import RateLimitMiddleware
from api.users.router import router as users_router
from api.watchlist.router import router as watchlist_router
from api.webhooks.router import router as webhooks_router
from api.webrtc.compat import router as webrtc_compat_router
from api.webrtc.router import router as webrtc_router
from shared.configured import check_api_settings
from shared.contracts import API_PREFIX
from shared.logging import configure_logging
from shared.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.redis = clients.redis_client(settings)
    # The camera event bus, which may be another Redis (VIGIL_EVENTS_REDIS_URL).
    app.state.events_redis = clients.redis_client(settings, settings.events_redis)
    config = clients.database_config(settings)
    async with RegisterTortoise(app, config=config, generate_schemas=False):
        # What start-up made (modules, routes, models, pools) lives as long as the process: out
        # of the collector's reach, a full collection no longer walks it, which stalled every
        # request in flight for about 100 ms.
        gc.freeze()
        stop = asyncio.Event()
        flushing = asyncio.create_task(app.state.metrics.http.flush_every(app.state.redis, stop))
        try:
            yield
        finally:
            stop.set()
            await flushing
    await app.state.redis.aclose()
    await app.state.events_redis.aclose()
    app.state.metrics.close()


def create_app() -> FastAPI:
    configure_logging(batched=True)
    logging.getLogger("uvicorn.access").addFilter(RedactQueryTokens())
    check_api_settings(get_settings())
    docs_enabled = get_settings().docs_enabled
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        summary="Surveillance images and videos in, structured detections out.",
        lifespan=lifespan,
        # Swagger UI is served from local files by install_docs below; ReDoc not at all.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs_enabled else None,
    )
    if docs_enabled:
        install_docs(app)
    install_error_handlers(app)
    # Middleware added first runs innermost: the observer (access log, HTTP metrics) sees every
    # answer, CORS headers reach 429s too.
    # Inside the per-address limit, which counts oversize bodies too.
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RateLimitMiddleware, caller_checks=caller_checks)
    # Each router straight into the app, prefixed, rather than into one /api/v1 router: FastAPI
    # matches included routers level by level, scanning every level's routes again as it
    # descends, and a second level cost every request more than its own work.
    for router in (
        auth_router,
        users_router,
        api_keys_router,
        jobs_router,
        watchlist_router,
        webhooks_router,
        cameras_router,
        camera_views_router,
        webrtc_router,
        events_router,
        health_router,
        models_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    add_compatibility_routes(app)
    app.include_router(cameras_compat_router)
    app.include_router(webrtc_compat_router)
    # The web console at / (api/console/): a page and its files, no API of its own.
    app.include_router(console_router)
    install_openapi(app)
    app.include_router(metrics_router)
    app.state.metrics = ApiMetrics(get_settings().redis_url)
    cors_origins = get_settings().cors_origins
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
        )
    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
    return app


app = create_app()
