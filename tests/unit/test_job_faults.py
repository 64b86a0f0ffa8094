"""Which failures of a job are the storage's (re-run later) rather than the job's."""

from __future__ import annotations

import errno
import os

import pytest

from worker.services.jobs import _storage_unavailable


def _chained(outer: Exception, inner: BaseException) -> Exception:
    try:
        raise outer from inner
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
        OSError(errno.EROFS, os.strerror(errno.EROFS)),
        # The annotated-video writer reports ffmpeg's own message.
        RuntimeError(
            f"ffmpeg exited (1) while writing: Error writing trailer: {os.strerror(errno.ENOSPC)}"
        ),
        _chained(RuntimeError("could not write the output"), OSError(errno.EDQUOT, "quota")),
    ],
)
def test_storage_refusals_are_recognised(exc: Exception) -> None:
    assert _storage_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.EACCES, os.strerror(errno.EACCES)),
        FileNotFoundError(errno.ENOENT, "gone"),
        RuntimeError("ffmpeg exited (1) while writing: invalid argument"),
        ValueError("bad frame"),
    ],
)
def test_other_failures_are_not(exc: Exception) -> None:
    assert not _storage_unavailable(exc)
