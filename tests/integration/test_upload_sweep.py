"""Uploads left behind by an API process that died before recording their job are deleted
by the sweeper; uploads a job refers to, and recent ones, are kept (F-21)."""

from __future__ import annotations

import os
import time

import httpx

from shared import storage
from tests.integration.conftest import db_fetch, submit
from tests.media import BUS

TWO_DAYS_S = 2 * 24 * 3600


def test_sweeper_deletes_old_uploads_no_job_refers_to(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    # A job that still refers to its upload: a finished one, pointed back at a file.
    job = submit(client, auth, BUS, {})
    referenced_relative, referenced = storage.new_upload_path(".jpg")
    db_fetch(
        "UPDATE jobs SET media_path = $1 WHERE id = $2::uuid", referenced_relative, job["job_id"]
    )
    orphan_relative, orphan = storage.new_upload_path(".mp4")
    recent_relative, recent = storage.new_upload_path(".jpg")
    old = time.time() - TWO_DAYS_S
    for path in (referenced, orphan, recent):
        path.write_bytes(b"footage")
    for path in (referenced, orphan):
        os.utime(path, (old, old))
    try:
        deadline = time.monotonic() + 30
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not orphan.exists(), "the sweeper kept an orphaned upload"
        assert referenced.exists()
        assert recent.exists()
    finally:
        for relative in (orphan_relative, recent_relative, referenced_relative):
            storage.delete(relative)
