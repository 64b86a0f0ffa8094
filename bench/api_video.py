"""The default video job through the API: uploaded to a real stack as a client would, its
status polled until it completes, and its speed as the worker reports it (frames analysed over
the job's `processing_time`: probing, decoding, analysis and the progress writes to Postgres;
the queue wait before and the upload are not in it)."""

from __future__ import annotations

import json
import mimetypes
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shared.db.enums import JobStatus

# Often enough to see the end soon after it comes, rarely enough to cost the worker nothing
# worth counting on two cores.
POLL_S = 0.5
JOB_TIMEOUT_S = 600.0
# The stack's worker is idle when a job is sent, so it starts at once; one still queued after
# this had its message taken by another worker on the same Redis db (another stack running).
QUEUED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ApiJob:
    job_id: str
    frames: int
    # The worker's own figure for the job, in seconds.
    processing_s: float
    # From the job's started_at to its finished_at: the processing plus the final write.
    started_to_finished_s: float
    # From the upload's first byte to the poll that saw it completed.
    client_s: float

    @property
    def fps(self) -> float:
        return self.frames / self.processing_s if self.processing_s > 0 else float("nan")


@dataclass(frozen=True)
class ApiVideoResult:
    video: Path
    jobs: list[ApiJob]

    @property
    def fps(self) -> float:
        """Frames over seconds summed across jobs, as the in-process passes are."""
        seconds = sum(job.processing_s for job in self.jobs)
        return sum(job.frames for job in self.jobs) / seconds if seconds > 0 else float("nan")


def _seconds_between(status: dict[str, Any]) -> float:
    started = datetime.fromisoformat(status["started_at"])
    finished = datetime.fromisoformat(status["finished_at"])
    return (finished - started).total_seconds()


def run_job(client: httpx.Client, video: Path, max_frames: int | None) -> ApiJob:
    """One upload of `video` with the default parameters (and `max_frames`), polled to the end;
    a job that fails raises, with the worker's error."""
    params = {} if max_frames is None else {"max_frames": max_frames}
    content_type = mimetypes.guess_type(video.name)[0] or "application/octet-stream"
    sent = time.perf_counter()
    with video.open("rb") as handle:
        response = client.post(
            "/api/v1/process/video",
            files={"file": (video.name, handle, content_type)},
            data={"params": json.dumps(params)},
        )
    if response.status_code != 202:
        raise RuntimeError(f"POST /process/video: HTTP {response.status_code}: {response.text}")
    job_id = str(response.json()["job_id"])
    while True:
        status_response = client.get(f"/api/v1/jobs/{job_id}/status")
        status_response.raise_for_status()
        status: dict[str, Any] = status_response.json()
        state = JobStatus(status["status"])
        if state.is_terminal:
            break
        waited = time.perf_counter() - sent
        if state == JobStatus.QUEUED and waited > QUEUED_TIMEOUT_S:
            raise TimeoutError(
                f"job {job_id} still queued after {QUEUED_TIMEOUT_S:.0f}s: is another stack's "
                "worker on the same Redis db taking its message?"
            )
        if waited > JOB_TIMEOUT_S:
            raise TimeoutError(f"job {job_id} not finished after {JOB_TIMEOUT_S:.0f}s")
        time.sleep(POLL_S)
    client_s = time.perf_counter() - sent
    if status["status"] != JobStatus.COMPLETED:
        raise RuntimeError(f"job {job_id} {status['status']}: {status['error']}")
    results = client.get(f"/api/v1/jobs/{job_id}/results", params={"page_size": 1})
    results.raise_for_status()
    return ApiJob(
        job_id,
        int(status["frames_processed"]),
        float(results.json()["processing_time"]),
        _seconds_between(status),
        client_s,
    )


def bench_api_video(
    client: httpx.Client, video: Path, repeat: int, max_frames: int | None
) -> ApiVideoResult:
    """`repeat` jobs one after the other, each alone on the worker."""
    return ApiVideoResult(video, [run_job(client, video, max_frames) for _ in range(repeat)])
