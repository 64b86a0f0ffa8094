"""Waiting for a job: when to poll again, when to give up, and how progress is shown. The sync
and async clients run the same Waiter and only sleep differently."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm

from vigil_sdk.errors import JobTimeoutError
from vigil_sdk.models import JobStatus

ProgressCallback = Callable[[JobStatus], None]


class ProgressBar:
    """A tqdm bar on stderr: percent done, frames, and the worker's frames per second."""

    def __init__(self, job_id: str) -> None:
        self._bar = tqdm(
            total=100.0,
            desc=f"job {job_id[:8]}",
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
            dynamic_ncols=True,
        )

    def __call__(self, status: JobStatus) -> None:
        frames = f"{status.frames_processed}/{status.frames_total or '?'} frames"
        fps = f", {status.processing_speed:.1f} fps" if status.processing_speed else ""
        self._bar.n = min(max(status.progress, 0.0), 100.0)
        self._bar.set_postfix_str(f"{status.status}, {frames}{fps}", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class Waiter:
    """`observe` each status polled (True once the job has finished, completed or failed);
    `delay` says how long to sleep before the next poll, or raises JobTimeoutError."""

    def __init__(
        self,
        job_id: str,
        timeout: float | None,
        poll_interval: float,
        progress: bool | ProgressCallback,
    ) -> None:
        self._job_id = job_id
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._interval = poll_interval
        self._bar = ProgressBar(job_id) if progress is True else None
        self._report: ProgressCallback | None = self._bar
        if callable(progress):
            self._report = progress
        self._last: JobStatus | None = None

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def observe(self, status: JobStatus) -> bool:
        self._last = status
        if self._report is not None:
            self._report(status)
        return status.is_terminal

    def delay(self) -> float:
        if self._deadline is None or self._timeout is None:
            return self._interval
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimeoutError(self._job_id, self._timeout, self._last)
        return min(self._interval, remaining)
