"""No request needs a free thread to get answered (F-01), a flood of health checks costs one
probe, and readiness notices a thread pool that has stopped running."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from api.health.service import Check, _threads, _timed
from api.health.shared_result import SharedResult
from api.main import app


def _runs_on_event_loop(call: Callable[..., Any]) -> bool:
    """What FastAPI awaits directly; anything else it runs in the thread pool."""
    while isinstance(call, functools.partial):
        call = call.func
    call = inspect.unwrap(call)
    if inspect.isclass(call):
        return False
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    dunder = getattr(call, "__call__", None)  # noqa: B004 (an instance used as a dependency)
    return inspect.iscoroutinefunction(dunder) or inspect.isasyncgenfunction(dunder)


def _sync_calls(dependant: Dependant, path: str) -> set[str]:
    found = set()
    if dependant.call is not None and not _runs_on_event_loop(dependant.call):
        found.add(f"{path}: {getattr(dependant.call, '__qualname__', dependant.call)}")
    for sub in dependant.dependencies:
        found |= _sync_calls(sub, path)
    return found


def test_every_endpoint_and_dependency_is_a_coroutine() -> None:
    """F-01: a sync dependency on every authenticated route (redis_client) let stuck health
    checks, which filled the thread pool, hang every authenticated request."""
    sync: set[str] = set()
    routes = 0
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is not None:
            routes += 1
            sync |= _sync_calls(dependant, str(context.path))
    assert routes > 40  # the walk reached the included routers' routes
    assert not sync, "these run in the thread pool:\n" + "\n".join(sorted(sync))


def test_a_flood_of_callers_shares_one_refresh() -> None:
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    async def flood() -> list[int]:
        shared: SharedResult[int] = SharedResult()
        first = await asyncio.gather(*(shared.get(fetch, 60) for _ in range(200)))
        again = await shared.get(fetch, 60)  # still fresh: served from the cache
        return [*first, again]

    assert set(asyncio.run(flood())) == {1}
    assert calls == 1


def test_an_old_answer_is_refreshed_and_a_failure_is_not_kept() -> None:
    answers: Iterator[int | ValueError] = iter([ValueError("down"), 2, 3])

    async def fetch() -> int:
        answer = next(answers)
        if isinstance(answer, ValueError):
            raise answer
        return answer

    async def run() -> list[int]:
        shared: SharedResult[int] = SharedResult()
        with pytest.raises(ValueError, match="down"):
            await shared.get(fetch, 60)
        second = await shared.get(fetch, 60)
        third = await shared.get(fetch, 0)  # max age 0: always refreshed
        return [second, third]

    assert asyncio.run(run()) == [2, 3]


def test_the_thread_check_times_out_while_the_pool_is_full() -> None:
    """Readiness must fail when the API is stuck the way F-01 left it: every thread of the
    pool taken. The check itself neither hangs nor takes a thread to find out."""
    release = threading.Event()

    def hold_a_thread() -> None:
        release.wait()

    async def run() -> tuple[Check, Check]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        async with anyio.create_task_group() as group:
            for _ in range(int(limiter.total_tokens)):
                group.start_soon(anyio.to_thread.run_sync, hold_a_thread)
            # A limiter has no event to wait on until it is full: poll it.
            while limiter.borrowed_tokens < limiter.total_tokens:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            stuck = await _timed("threads", _threads, 0.5)
            release.set()
        return stuck, await _timed("threads", _threads, 0.5)

    stuck, freed = asyncio.run(run())
    assert stuck == Check("timeout")
    assert freed.status == "ok"
