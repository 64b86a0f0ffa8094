"""Counts and times every HTTP request by its route template.

A pure ASGI middleware: Starlette's BaseHTTPMiddleware buffers through a memory stream and
would break server-sent events and streamed uploads."""

from __future__ import annotations

import time

from fastapi.routing import iter_route_contexts
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics.service import UNMATCHED, ApiMetrics


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics, router: Router) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router
        self._templates: dict[int, str] | None = None

    def template(self, scope: Scope) -> str:
        """The matched route's path template (/api/v1/jobs/{job_id}/status), never the raw
        path with its ids. FastAPI puts the route as declared in the scope, without the
        prefixes it was included under; the full template comes from the app's route table,
        read once all routes exist."""
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = {
                id(context.original_route): context.path
                for context in iter_route_contexts(self.router.routes)
                if context.path
            }
        return self._templates.get(id(route)) or getattr(route, "path", None) or UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An exception before any response is answered with a 500 further out.
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe(scope["method"], self.template(scope), status, seconds)
