"""Job submission, waiting for image results, and the read models of status and results."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from uuid import UUID

import redis.asyncio as aioredis
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from tortoise.transactions import in_transaction

from api.jobs import quota
from api.jobs.schemas import (
    ImageMetadata,
    ImageResult,
    ImageSummary,
    JobAccepted,
    JobListItem,
    JobResults,
    JobStatusRead,
    Pagination,
)
from api.jobs.upload import discard_on_error, receive_upload
from api.jobs.validation import inspect_media, parse_params
from api.webhooks.service import CALLBACK_URL_FIELD, callback_url_for
from shared import storage
from shared.contracts import DetectionRead, FrameMetricsRead, FrameRead
from shared.db.enums import JobKind, JobStatus
from shared.db.models import Job, User
from shared.enqueue import enqueue_job
from shared.errors import ConflictError, GoneError, NotFoundError
from shared.events import job_channel
from shared.repositories import jobs as repo
from shared.settings import get_settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def status_url(job_id: UUID) -> str:
    return f"{API_PREFIX}/jobs/{job_id}/status"


def results_url(job_id: UUID) -> str:
    return f"{API_PREFIX}/jobs/{job_id}/results"


def annotated_url(job: Job) -> str | None:
    return f"{API_PREFIX}/jobs/{job.id}/annotated" if job.annotated_path else None


def accepted(job: Job) -> JobAccepted:
    return JobAccepted(
        job_id=job.id,
        status=job.status,
        status_url=status_url(job.id),
        results_url=results_url(job.id),
    )


def upload_limits() -> dict[JobKind, int]:
    """The largest upload of each kind, in bytes."""
    settings = get_settings()
    return {JobKind.IMAGE: settings.max_image_bytes, JobKind.VIDEO: settings.max_video_bytes}


async def create_job(request: Request, user: User, kind: JobKind) -> Job:
    """Receive, validate and record an upload. Nothing is stored unless all of it is valid
    and within the user's quotas."""
    # A user already at a quota is refused before the body is read.
    await quota.check(user.id, jobs=1, size=1)
    upload = await receive_upload(request, kind, upload_limits()[kind])
    with discard_on_error(upload):
        params = parse_params(upload.fields)
        callback_url = await callback_url_for(user, upload.fields.get(CALLBACK_URL_FIELD))
        media = await inspect_media(upload, params)
        async with in_transaction():
            await quota.hold(user.id, jobs=1, size=upload.size)
            return await repo.create(
                user.id,
                kind,
                params.model_dump(mode="json"),
                upload.relative_path,
                media,
                callback_url=callback_url,
            )


async def enqueue(job: Job) -> None:
    # The job row is committed first: a lost message leaves a queued job the sweeper re-sends.
    await run_in_threadpool(enqueue_job, job.id, job.kind)


async def enqueue_and_wait(job: Job, redis: aioredis.Redis, wait_s: float) -> Job:
    """Enqueue, then wait up to `wait_s` seconds for the job to finish. Worker events wake
    the wait early; Postgres decides, so a missed event costs at most a second."""
    try:
        pubsub = redis.pubsub()
        await pubsub.subscribe(job_channel(job.id))
    except (aioredis.RedisError, OSError):
        logger.warning("cannot listen for job %s events; answering without waiting", job.id)
        await enqueue(job)
        return job
    try:
        await enqueue(job)
        deadline = time.monotonic() + wait_s
        while True:
            current = await repo.get(job.id)
            if current is None or current.status.is_terminal:
                return current or job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return current
            try:
                await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=min(remaining, 1.0)
                )
            except (aioredis.RedisError, OSError):
                await asyncio.sleep(min(remaining, 1.0))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def image_result(job: Job) -> ImageResult:
    frames, _ = await repo.frames_page(job.id, 0, 1)
    detections = [DetectionRead.model_validate(d) for d in frames[0].detections] if frames else []
    metrics = frames[0].metrics if frames else None
    media = job.media or {}
    model = job.model_info or {}
    summary = ImageSummary.model_validate(job.summary) if job.summary else None
    return ImageResult(
        success=job.status is JobStatus.COMPLETED,
        job_id=job.id,
        processing_time=job.processing_time,
        detections=detections,
        metrics=FrameMetricsRead.model_validate(metrics) if metrics else None,
        summary=summary,
        metadata=ImageMetadata(
            image_dimensions=f"{media.get('width')}x{media.get('height')}",
            model_version=model_version(model),
            timestamp=job.finished_at or job.updated_at,
        )
        if job.status is JobStatus.COMPLETED
        else None,
        annotated_url=annotated_url(job),
        error=job.error,
    )


def model_version(model: dict[str, object]) -> str:
    name = str(model.get("name", "unknown"))
    digest = str(model.get("sha256") or "")[:12]
    return f"{name}@{digest}" if digest else name


def status_read(job: Job) -> JobStatusRead:
    return JobStatusRead(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        frames_processed=job.frames_processed,
        frames_total=job.frames_total,
        processing_speed=job.processing_speed,
        estimated_completion=job.estimated_completion,
        attempts=job.attempts,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
        status_url=status_url(job.id),
        results_url=results_url(job.id),
        annotated_url=annotated_url(job),
    )


def list_item(job: Job) -> JobListItem:
    return JobListItem(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        filename=str((job.media or {}).get("filename") or "") or None,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        status_url=status_url(job.id),
    )


def _require_completed(job: Job, what: str) -> None:
    if job.status is JobStatus.FAILED:
        raise ConflictError(f"job {job.id} failed: {job.error}", extra={"status": job.status})
    if job.status is not JobStatus.COMPLETED:
        raise ConflictError(
            f"job {job.id} is {job.status}; {what} ready once it completes",
            extra={"status": job.status, "status_url": status_url(job.id)},
        )


async def results(job: Job, page: int, page_size: int) -> JobResults:
    _require_completed(job, "results are")
    frames, total = await repo.frames_page(job.id, (page - 1) * page_size, page_size)
    return JobResults(
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        created_at=job.created_at,
        finished_at=job.finished_at,
        processing_time=job.processing_time,
        media=job.media,
        params=job.params,
        model=job.model_info,
        summary=job.summary,
        annotated_url=annotated_url(job),
        frames=[
            FrameRead(
                frame_index=f.frame_index,
                timestamp=f.timestamp_s,
                detections=[DetectionRead.model_validate(d) for d in f.detections],
                metrics=FrameMetricsRead.model_validate(f.metrics) if f.metrics else None,
            )
            for f in frames
        ],
        pagination=Pagination(
            page=page, page_size=page_size, total_frames=total, pages=math.ceil(total / page_size)
        ),
    )


async def delete(job: Job) -> None:
    """Delete the job and its data; a worker still on it notices within a progress interval."""
    await repo.delete(job.id)
    storage.delete(job.media_path)
    storage.delete_annotated(job.id)


def annotated_file(job: Job) -> tuple[Path, str]:
    """The annotated output and its media type, or why there is none."""
    _require_completed(job, "the annotated output is")
    if not job.params.get("annotate"):
        raise NotFoundError(
            f'job {job.id} has no annotated output: submit with params {{"annotate": true}}'
        )
    path = storage.resolve(job.annotated_path) if job.annotated_path else None
    if path is None or not path.is_file():
        raise GoneError(
            f"the annotated output of job {job.id} was deleted after "
            f"{get_settings().annotated_retention_hours:g} h (VIGIL_ANNOTATED_RETENTION_HOURS)"
        )
    return path, "image/jpeg" if path.suffix == ".jpg" else "video/mp4"
