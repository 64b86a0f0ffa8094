"""Uploads are private to the service's user, whatever the umask (F-21)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator

import pytest

from shared import storage


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: os.PathLike[str]) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_uploads_are_owner_only_even_with_an_open_umask(open_umask: None) -> None:
    relative, path = storage.new_upload_path(".mp4")
    with storage.open_private(path) as handle:
        handle.write(b"footage")
    try:
        assert _mode(path) == 0o600
        assert _mode(path.parent) == 0o700
        assert _mode(storage.storage_root()) == 0o700
    finally:
        storage.delete(relative)


def test_open_private_never_reuses_an_existing_file() -> None:
    relative, path = storage.new_upload_path(".jpg")
    path.write_bytes(b"someone else's")
    try:
        with pytest.raises(FileExistsError):
            storage.open_private(path)
    finally:
        storage.delete(relative)


def test_uploads_older_than() -> None:
    old, old_path = storage.new_upload_path(".mp4")
    new, new_path = storage.new_upload_path(".mp4")
    for path in (old_path, new_path):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old_path, (now - 7200, now - 7200))
    try:
        found = storage.uploads_older_than(3600, now)
        assert old in found
        assert new not in found
    finally:
        storage.delete(old)
        storage.delete(new)
