"""The API application (`uvicorn api.main:app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI
from tortoise.contrib.fastapi import RegisterTortoise

from api.auth.router import router as auth_router
from api.errors import install_error_handlers
from api.health.router import router as health_router
from api.jobs.router import router as jobs_router
from api.models.router import router as models_router
from api.users.router import router as users_router
from api.watchlist.router import router as watchlist_router
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


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        summary="Surveillance images and videos in, structured detections out.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        users_router,
        jobs_router,
        watchlist_router,
        health_router,
        models_router,
    ):
        api.include_router(router)
    app.include_router(api)
    return app


app = create_app()
