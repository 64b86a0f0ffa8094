"""The error handlers: a storage that is full or read-only is an outage (503 with Retry-After),
other OS errors stay bugs (500); a 405 names every method the path answers."""

from __future__ import annotations

import asyncio
import errno

import httpx
import pytest
from fastapi import FastAPI

from api.errors import install_error_handlers


def _app(error: OSError) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/uploads")
    async def upload() -> None:
        raise error

    @app.get("/things")
    async def read() -> dict[str, str]:
        return {}

    @app.patch("/things")
    async def change() -> dict[str, str]:
        return {}

    return app


def _send(app: FastAPI, method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT])
def test_a_full_or_read_only_storage_answers_503(code: int) -> None:
    response = _send(_app(OSError(code, "storage")), "POST", "/uploads")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"] == "service_unavailable"
    assert "storage" in response.json()["detail"]


def test_other_os_errors_are_bugs() -> None:
    response = _send(_app(OSError(errno.EACCES, "denied")), "POST", "/uploads")
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": "internal server error"}


def test_405_names_every_method_of_the_path() -> None:
    response = _send(_app(OSError()), "DELETE", "/things")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PATCH"
