"""Compatibility routes: the paths of the video-analysis API (accounts at the root, tasks under
`/tasks/`), so that clients written against it work unchanged. Each one is answered by the same
handler as its `/api/v1` counterpart, with the same dependencies: the same authentication,
ownership checks, rate limits and error shapes."""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import Operation, operations
from shared.contracts import API_PREFIX

COMPATIBILITY_TAG = "compatibility"

# (method, the /api/v1 route, the compatibility path). The path parameter keeps Vigil's name:
# a client only ever sees the URL.
ALIASES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/auth/signup", "/signup"),
    ("POST", "/auth/signin", "/signin"),
    ("POST", "/auth/token-refresh", "/authentication/token-refresh"),
    ("POST", "/auth/password/change", "/authentication/password/change/"),
    ("GET", "/me", "/me/"),
    ("PATCH", "/me", "/me/"),
    ("POST", "/process/video", "/tasks/video-objects-detection/"),
    ("GET", "/jobs/{job_id}/results", "/tasks/video-analysis-result/{job_id}/"),
)


def _operation(app: FastAPI, method: str, path: str) -> Operation:
    for operation in operations(app):
        if (operation.method, operation.path) == (method, path):
            return operation
    raise LookupError(f"no {method} {path} route to alias")


def add_compatibility_routes(app: FastAPI) -> None:
    """Alias each route of ALIASES at its compatibility path; call once every router is in."""
    for method, target, path in ALIASES:
        operation = _operation(app, method, API_PREFIX + target)
        route = operation.route
        app.add_api_route(
            path,
            route.endpoint,
            methods=[method],
            status_code=route.status_code,
            response_model=route.response_model,
            response_class=route.response_class,
            dependencies=operation.dependencies,
            responses=route.responses,
            openapi_extra=route.openapi_extra,
            summary=f"{route.summary or route.name} (compatibility route)",
            description=f"The same as `{method} {API_PREFIX}{target}`, at the path that "
            "clients of the video-analysis API call.",
            tags=[COMPATIBILITY_TAG],
            operation_id=f"compat_{route.unique_id}",
        )
