"""One error shape for every failure: {"error": code, "detail": message, ...}."""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

import asyncpg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from tortoise.exceptions import DBConnectionError

from api.routes import operations
from shared.errors import AppError

logger = logging.getLogger(__name__)

# What a 503 asks a client to wait: dependencies that come back are used again within seconds.
RETRY_AFTER_S = 5

# Failures of a dependency rather than of the request: each answers 503 with Retry-After, and
# what exactly failed goes to the log only (it names hosts and ports).
UNAVAILABLE: dict[type[Exception], str] = {
    DBConnectionError: "the database",
    asyncpg.PostgresConnectionError: "the database",
    asyncpg.CannotConnectNowError: "the database",
    asyncpg.AdminShutdownError: "the database",
    asyncpg.TooManyConnectionsError: "the database",
    redis.exceptions.ConnectionError: "Redis",
    redis.exceptions.TimeoutError: "Redis",
    BrokerError: "the job queue",
    # Raised by the drivers' sockets: refused, reset, unresolvable host, no answer in time.
    ConnectionError: "a service Vigil depends on",
    socket.gaierror: "a service Vigil depends on",
    TimeoutError: "a service Vigil depends on",
}


# A storage directory that is full, over quota or read-only: an outage of the disk, which its
# operator fixes, rather than a fault of the request.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


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
    if exc.status_code == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return error_response(exc.status_code, exc.code, exc.detail, headers | exc.headers, **exc.extra)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = field_errors([dict(e) for e in exc.errors()])
    return error_response(422, "validation_error", describe_fields(fields), fields=fields)


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route answers at `path`. Starlette's 405 names only the methods of the
    first route that matched the path, and GET /me and PATCH /me are two routes."""
    literal: set[str] = set()
    templated: set[str] = set()
    for operation in operations(app):
        if operation.path == path:
            literal.add(operation.method)
        elif compile_path(operation.path)[0].fullmatch(path):
            templated.add(operation.method)
    # /webhooks/callback-secret also fits /webhooks/{webhook_id}, but names a resource of its own.
    return literal or templated


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(allowed_methods(request.app, request.url.path)))
    return error_response(exc.status_code, code, str(exc.detail), headers)


def _unavailable(exc: Exception) -> str:
    return next(
        (what for kind, what in UNAVAILABLE.items() if isinstance(exc, kind)),
        "a service Vigil depends on",
    )


async def _dependency_down(_: Request, exc: Exception) -> JSONResponse:
    what = _unavailable(exc)
    logger.error("%s is unavailable: %s: %s", what, type(exc).__name__, exc)
    return error_response(
        503,
        "service_unavailable",
        f"{what} is unavailable; try again in a few seconds",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    if exc.errno not in STORAGE_ERRNOS:
        return await _unexpected(request, exc)
    logger.error("the storage cannot be written: %s", exc)
    return error_response(
        503,
        "service_unavailable",
        "the storage is full or read-only; try again later",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _dependency_down)
    # After the dependencies' handlers: ConnectionError and TimeoutError are OSErrors too, and
    # the most specific handler of an exception's classes is the one used.
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected)
