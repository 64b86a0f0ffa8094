"""One error shape for every failure: {"error": code, "detail": message, ...}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from tortoise.exceptions import DBConnectionError

from shared.errors import AppError

logger = logging.getLogger(__name__)


def error_response(
    status_code: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {"error": code, "detail": detail, **extra}, status_code=status_code, headers=headers
    )


def field_errors(
    errors: list[dict[str, Any]], prefix: tuple[str | int, ...] = ()
) -> list[dict[str, str]]:
    """Pydantic errors as [{"field": "params.confidence_threshold", "message": ...}]."""
    return [
        {
            "field": ".".join(str(part) for part in (*prefix, *error["loc"]) if part != "body")
            or "body",
            "message": error["msg"],
        }
        for error in errors
    ]


def describe_fields(fields: list[dict[str, str]]) -> str:
    return "; ".join(f"{f['field']}: {f['message']}" for f in fields)


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    return error_response(exc.status_code, exc.code, exc.detail, headers | exc.headers, **exc.extra)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = field_errors([dict(e) for e in exc.errors()])
    return error_response(422, "validation_error", describe_fields(fields), fields=fields)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc)
    return error_response(503, "service_unavailable", "the database is unavailable; try again")


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBConnectionError, _database_down)
    app.add_exception_handler(ConnectionError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
