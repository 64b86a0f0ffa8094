"""One answer of an expensive check, shared by every caller for a while (single flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedResult(Generic[T]):
    """The latest answer of an async call, reused while it is younger than `max_age_s`. Once it
    is older, the first caller starts one refresh and every caller that arrives meanwhile awaits
    that same refresh: a flood of requests costs the dependency one call per period. A refresh
    that raises caches nothing; each of its waiters gets the exception."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._taken_at = -float("inf")
        self._refresh: asyncio.Task[T] | None = None

    async def get(self, fetch: Callable[[], Awaitable[T]], max_age_s: float) -> T:
        if self._value is not None and time.monotonic() - self._taken_at < max_age_s:
            return self._value
        loop = asyncio.get_running_loop()
        if self._refresh is None or self._refresh.done() or self._refresh.get_loop() is not loop:
            self._refresh = loop.create_task(self._store(fetch))
        # Shielded: a caller that goes away does not cancel the refresh the others wait for.
        return await asyncio.shield(self._refresh)

    async def _store(self, fetch: Callable[[], Awaitable[T]]) -> T:
        value = await fetch()
        self._value, self._taken_at = value, time.monotonic()
        return value
