"""Every request observed once: one JSON line on the `vigil.access` logger (method, route
template, path, status, duration, client address and who called: user, API key, auth method,
job) and the HTTP metrics by method, route template and status. It also adds the security
headers every answer carries (add_security_headers).

Pure ASGI rather than BaseHTTPMiddleware, which would buffer streaming responses (the job
event stream); a stream's line is written when it ends, its duration the stream's. The query
string, headers and bodies are never logged: they can carry tokens, keys and passwords. Where
uvicorn's own access log is on (`make run`; the images turn it off), RedactQueryTokens keeps
the camera view tokens of `<img>` URLs (`?token=`) out of it."""

from __future__ import annotations

import json
import logging
import re
import time
from functools import lru_cache
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.client_address import client_address
from api.console.assets import URL_PREFIX as CONSOLE_URL
from api.docs import STATIC_URL
from api.metrics.service import UNMATCHED, ApiMetrics

logger = logging.getLogger("vigil.access")

# A `token` query parameter's value: a camera view token, a credential for its lifetime.
_QUERY_TOKEN = re.compile(r"(?<=[?&]token=)[^&#\s\"]+")
REDACTED = "[redacted]"


def redact_query_tokens(text: str) -> str:
    return _QUERY_TOKEN.sub(REDACTED, text)


class RedactQueryTokens(logging.Filter):
    """For uvicorn's access log, whose records carry the path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


@lru_cache(maxsize=4)
def _templates(app: FastAPI) -> dict[int, str]:
    # Keyed by id: Starlette routes define __eq__ and so cannot be dict keys.
    return {
        id(context.original_route): context.path_format
        for context in iter_route_contexts(app.routes)
        if context.path_format
    }


def route_template(scope: Scope) -> str | None:
    """The matched route's full path template (/api/v1/jobs/{job_id}/status); None when no
    route matched. FastAPI's scope["route"] of an included router carries only the router's
    own part of the path, so the full template comes from the application's route table."""
    route = scope.get("route")
    if route is None:
        return None
    return _templates(scope["app"]).get(id(route), str(route.path))


def access_record(
    scope: Scope, route: str | None, status: int, duration_s: float
) -> dict[str, Any]:
    """The access-log line's fields; an unmatched request is logged under its raw path."""
    state: dict[str, Any] = scope.get("state", {})
    return {
        "method": scope["method"],
        "route": route or scope["path"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(duration_s * 1000, 1),
        "ip": client_address(scope),
        "auth": state.get("auth_method"),
        "user_id": state.get("user_id"),
        "api_key_id": state.get("api_key_id"),
        "job_id": scope.get("path_params", {}).get("job_id") or state.get("job_id"),
    }


def add_security_headers(path: str, headers: MutableHeaders) -> None:
    """On every answer: no MIME sniffing (an upload's name or a JSON string must never be run
    as a page), no Referer to other sites. And `no-store` on everything but the Swagger UI
    files: the rest carries tokens, keys, results and metrics that no browser or proxy cache
    should keep, and an endpoint's own, weaker Cache-Control is replaced. The web console's
    page and files, which carry no secret, keep what they say (api/console/assets.py)."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if path.startswith(f"{STATIC_URL}/"):
        return
    console = path == "/" or path.startswith(f"{CONSOLE_URL}/")
    if not (console and "cache-control" in headers):
        headers["Cache-Control"] = "no-store"


class ObserveRequests:
    """Times every request once and reports it twice: the access-log line and the HTTP
    metrics (`vigil_http_requests_total`, `vigil_http_request_duration_seconds`)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request state the endpoints write (api/deps.py) lives in this dict.
        scope.setdefault("state", {})
        started = time.perf_counter()
        # An exception escaping the app becomes a 500 further out.
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                add_security_headers(scope["path"], MutableHeaders(scope=message))
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            duration_s = time.perf_counter() - started
            route = route_template(scope)
            record = access_record(scope, route, status, duration_s)
            logger.info("%s", json.dumps(record, default=str))
            self.metrics.observe(scope["method"], route or UNMATCHED, status, duration_s)
