"""The application's operations as requests reach them: FastAPI includes routers lazily, so a
route's full path and the dependencies of the routers it sits in are known only through its
route context, not on the route itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute
    # With the dependencies of every router the route is included in.
    dependant: Dependant
    dependencies: list[Any]


def operations(app: FastAPI) -> Iterator[Operation]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path:
            for method in route.methods or ():
                yield Operation(
                    method, context.path, route, context.dependant, list(context.dependencies)
                )
