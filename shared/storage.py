"""The storage directory both the API and the workers mount: uploads live here until processed,
annotated output until it expires."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from shared.settings import get_settings


def storage_root() -> Path:
    return get_settings().storage_dir.resolve()


def new_upload_path(suffix: str) -> tuple[str, Path]:
    """A fresh, unguessable upload location: (path relative to the root, absolute path)."""
    relative = f"uploads/{uuid.uuid4().hex}{suffix}"
    absolute = storage_root() / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return relative, absolute


def annotated_path(job_id: uuid.UUID, attempt: int, suffix: str) -> tuple[str, Path]:
    """Where one attempt of a job writes its annotated output: (path relative to the root,
    absolute path). Per attempt, so a superseded attempt still running never writes into the
    file of the attempt that replaced it."""
    relative = f"annotated/{job_id.hex}.{attempt}{suffix}"
    absolute = storage_root() / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
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
