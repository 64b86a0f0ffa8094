"""The OpenAPI document, with every error an operation can answer and Vigil's real error body.

FastAPI documents a 422 in its own `HTTPValidationError` shape and nothing else. Vigil answers
every error as `{"error", "detail", ...}`, and each operation can fail in ways that come from
what it is made of: a body can be too large or malformed, a bearer token can be missing, an
owned object can be someone else's, a limit can be hit, a dependency can be down. Those codes
are derived here from the route itself (its body, its parameters, and the `raises` marks on
the dependencies it runs), so a new route is documented truthfully without listing them by
hand; codes particular to one route are still declared on it with `responses=`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

from api.routes import Operation, operations

F = TypeVar("F", bound=Callable[..., Any])

ERROR_SCHEMA = "Error"
REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
_MARK = "__vigil_errors__"
_EXEMPT = "__vigil_exempt_errors__"
# What any route can answer: the per-address rate limit and the dependencies it runs on.
GLOBAL_ERRORS = frozenset({429, 503})

DESCRIPTIONS = {
    400: "the request cannot be processed as sent",
    401: "not authenticated: no, an invalid or an expired access token or API key",
    403: "authenticated, but not allowed to do this",
    404: "no such object, or it belongs to someone else",
    409: "the object is not in a state that allows this",
    410: "the object existed but has been deleted",
    413: "the request body, an upload or a quota is too large",
    415: "the content type or media type is not accepted",
    422: "a parameter or the body is invalid; `fields` names each problem",
    429: "over a rate limit or quota; retry after the Retry-After header's seconds",
    503: "a dependency (database, Redis, workers) is unavailable; retry later",
}


class FieldProblem(BaseModel):
    field: str
    message: str


class Error(BaseModel):
    """Every error Vigil answers. Some errors add keys that help the client act on them (a
    job's `status_url`, an upload's `limit_bytes`)."""

    model_config = ConfigDict(extra="allow", title=ERROR_SCHEMA)

    error: str
    detail: str
    fields: list[FieldProblem] | None = None


def raises(*codes: int) -> Callable[[F], F]:
    """Marks a dependency (or endpoint) with the error codes it can answer; every route that
    runs it documents them."""

    def mark(function: F) -> F:
        setattr(function, _MARK, (*getattr(function, _MARK, ()), *codes))
        return function

    return mark


def exempt(*codes: int) -> Callable[[F], F]:
    """Marks an endpoint that cannot answer some of GLOBAL_ERRORS (it is never rate limited,
    or touches no dependency)."""

    def mark(function: F) -> F:
        setattr(function, _EXEMPT, codes)
        return function

    return mark


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for child in dependant.dependencies:
        yield from _calls(child)


def route_errors(operation: Operation, has_body: bool, has_params: bool) -> set[int]:
    """The codes an operation can answer besides its route's own `responses=`."""
    codes = set(GLOBAL_ERRORS - set(getattr(operation.route.endpoint, _EXEMPT, ())))
    if has_body:
        # 400: a body that cannot be parsed at all (not JSON, not UTF-8, a broken form).
        codes |= {400, 413, 422}
    if has_params:
        codes.add(422)
    for call in _calls(operation.dependant):
        codes.update(getattr(call, _MARK, ()))
    return codes


def _document(operation: dict[str, Any], codes: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in sorted(codes | {int(c) for c in responses if c.isdigit() and int(c) >= 400}):
        entry = responses.setdefault(str(code), {"description": DESCRIPTIONS.get(code, "error")})
        if entry.get("description") == "Validation Error":
            entry["description"] = DESCRIPTIONS[422]
        # A route that answers an error in a shape of its own (health's report) says so.
        content = entry.get("content", {}).get("application/json", {}).get("schema", {})
        if not content or content.get("$ref", "").endswith("/HTTPValidationError"):
            entry["content"] = {"application/json": {"schema": REF}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    by_key = {(op.path, op.method.lower()): op for op in operations(app)}
    for path, documented in schema.get("paths", {}).items():
        for method, operation in documented.items():
            found = by_key.get((path, method))
            if found is None:
                continue
            codes = route_errors(
                found, "requestBody" in operation, bool(operation.get("parameters"))
            )
            _document(operation, codes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_SCHEMA] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(Error.model_json_schema().get("$defs", {}))
    components[ERROR_SCHEMA].pop("$defs", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
