"""The API application (`uvicorn api.main:app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from tortoise.contrib.fastapi import RegisterTortoise

from api.api_keys.router import router as api_keys_router
from api.auth.router import router as auth_router
from api.errors import install_error_handlers
from api.health.router import router as health_router
from api.jobs.router import router as jobs_router
from api.metrics.router import router as metrics_router
from api.metrics.service import ApiMetrics
from api.models.router import router as models_router
from api.observe import ObserveRequests
from api.ratelimit import IpRateLimitMiddleware
from api.users.router import router as users_router
from api.watchlist.router import router as watchlist_router
from api.webhooks.router import router as webhooks_router
from shared.db.config import tortoise_config
from shared.logging import configure_logging
from shared.settings import get_settings

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5)
    async with RegisterTortoise(app, config=tortoise_config(), generate_schemas=False):
        yield
    await app.state.redis.aclose()
    app.state.metrics.close()


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        summary="Surveillance images and videos in, structured detections out.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Middleware added first runs innermost: the observer (access log, HTTP metrics) sees every
    # answer, CORS headers reach 429s too.
    app.add_middleware(IpRateLimitMiddleware)
    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        users_router,
        api_keys_router,
        jobs_router,
        watchlist_router,
        webhooks_router,
        health_router,
        models_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(metrics_router)
    app.state.metrics = ApiMetrics(get_settings().redis_url)
    cors_origins = get_settings().cors_origins
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
        )
    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
    return app


app = create_app()
