"""One event loop per worker process for Tortoise calls from sync Celery tasks.

The loop and the connection pool are created lazily in the process that uses them (after
fork), and CPU work never runs inside the loop: tasks call `run()` only around queries."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from tortoise import Tortoise

from shared.db.config import tortoise_config

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_owner_pid: int | None = None


def _ensure_loop() -> asyncio.AbstractEventLoop:
    global _loop, _owner_pid
    if _loop is None or _owner_pid != os.getpid():
        _loop = asyncio.new_event_loop()
        # The global fallback lets every later run_until_complete (each a new task, so a new
        # context) see the ORM initialised here.
        _loop.run_until_complete(
            Tortoise.init(config=tortoise_config(), _enable_global_fallback=True)
        )
        _owner_pid = os.getpid()
    return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine (a repository call) to completion on this process's loop."""
    return _ensure_loop().run_until_complete(coro)


def shutdown() -> None:
    global _loop
    if _loop is not None and _owner_pid == os.getpid():
        _loop.run_until_complete(Tortoise.close_connections())
        _loop.close()
    _loop = None
