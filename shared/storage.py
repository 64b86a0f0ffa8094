"""The storage directory both the API and the workers mount: uploads live here until processed,
annotated output until it expires."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from shared.settings import get_settings


def storage_root() -> Path:
    return get_settings().storage_dir.resolve()


# Uploads are other people's footage: readable by the service's own user only, whatever the
# umask of the process that writes them.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create the directory (and the storage root above it) readable by the owner only."""
    root = storage_root()
    for directory in (root, path):
        directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return path


def new_upload_path(suffix: str) -> tuple[str, Path]:
    """A fresh, unguessable upload location: (path relative to the root, absolute path)."""
    relative = f"uploads/{uuid.uuid4().hex}{suffix}"
    absolute = storage_root() / relative
    private_dir(absolute.parent)
    return relative, absolute


def open_private(path: Path) -> BinaryIO:
    """Create a new file, owner-only from its first byte (no window with wider rights)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    return os.fdopen(fd, "wb")


def uploads_older_than(age_s: float, now: float) -> list[str]:
    """Relative paths of the upload files last written more than `age_s` seconds ago."""
    directory = storage_root() / "uploads"
    old: list[str] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > age_s:
                    old.append(f"uploads/{entry.name}")
    return old


def annotated_path(job_id: uuid.UUID, attempt: int, suffix: str) -> tuple[str, Path]:
    """Where one attempt of a job writes its annotated output: (path relative to the root,
    absolute path). Per attempt, so a superseded attempt still running never writes into the
    file of the attempt that replaced it."""
    relative = f"annotated/{job_id.hex}.{attempt}{suffix}"
    absolute = storage_root() / relative
    private_dir(absolute.parent)
    return relative, absolute


def resolve(relative: str) -> Path:
    """The absolute path of a stored file; refuses anything that would leave the root."""
    root = storage_root()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"path escapes the storage root: {relative}")
    return path


def delete(relative: str | None) -> None:
    if relative:
        with contextlib.suppress(FileNotFoundError):
            resolve(relative).unlink()


def delete_annotated(job_id: uuid.UUID) -> None:
    """Remove a job's annotated output, finished or left half-written by a dead worker."""
    for path in (storage_root() / "annotated").glob(f"{job_id.hex}.*"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
