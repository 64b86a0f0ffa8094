"""No job is lost: a job whose message never reached the queue, and a job whose worker
died mid-way, are both picked up again and completed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid

import httpx

from shared.ops.localstack import LocalStack
from shared.settings import get_settings
from tests.integration.conftest import db_fetch, wait_for, wait_for_first_frames
from tests.media import BUS, PEDESTRIANS


def test_sweeper_enqueues_a_job_whose_message_was_lost(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    owner = client.get("/me", headers=auth).json()["id"]
    relative = f"uploads/{uuid.uuid4().hex}.jpg"
    target = get_settings().storage_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUS, target)
    job_id = uuid.uuid4()
    # A committed job whose enqueue never happened (the broker was down at the time).
    db_fetch(
        """INSERT INTO jobs (id, owner_id, kind, status, params, media_path, media, attempts,
               progress, frames_processed, created_at, updated_at)
           VALUES ($1, $2::uuid, 'image', 'queued', $3::jsonb, $4, '{}'::jsonb, 0, 0, 0,
               now() - interval '1 minute', now() - interval '1 minute')""",
        job_id,
        owner,
        json.dumps({"confidence_threshold": 0.25}),
        relative,
    )
    status = wait_for(client, str(job_id), auth, timeout_s=60)
    assert status["status"] == "completed"
    assert status["attempts"] == 1
    assert not target.exists()


def _pool_children(stack: LocalStack) -> list[int]:
    parent = stack.processes["worker"].pid
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True, check=False)
    return [int(pid) for pid in out.stdout.split()]


def test_job_survives_its_worker_process_dying(
    stack: LocalStack, client: httpx.Client, auth: dict[str, str]
) -> None:
    with PEDESTRIANS.open("rb") as handle:
        accepted = client.post(
            "/process/video",
            files={"file": handle},
            data={"params": json.dumps({"max_frames": 60})},
            headers=auth,
        ).json()
    job_id = accepted["job_id"]
    wait_for_first_frames(client, job_id, auth)
    children = _pool_children(stack)
    assert children, "no pool process to kill"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    # Celery replaces the pool process; the sweeper notices the silent job and re-queues it.
    status = wait_for(client, job_id, auth, timeout_s=120)
    assert status["status"] == "completed", status
    assert status["attempts"] == 2
    assert status["frames_processed"] == 60
    rows = db_fetch("SELECT count(*) AS n FROM job_frames WHERE job_id = $1", uuid.UUID(job_id))
    assert rows[0]["n"] == 60  # the rerun overwrote, it did not duplicate
