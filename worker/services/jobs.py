"""Runs one job end to end: claim it, analyse the media, write results and progress, finish it.

At-least-once and idempotent: the claim is conditional (queued → processing, counting the
attempt), frames are upserted by (job, frame_index), and every write checks that this attempt
still owns the job, so a cancelled, deleted or superseded job stops within one progress interval."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
from billiard.exceptions import SoftTimeLimitExceeded
from tortoise.exceptions import DBConnectionError
from tortoise.timezone import now as utcnow

from shared import metrics, storage
from shared.configured import params_context
from shared.db.enums import JobKind, JobStatus
from shared.db.models import Job
from shared.enqueue import enqueue_deliveries
from shared.jobs import outcome
from shared.params import JobParams
from shared.repositories import jobs as repo
from shared.repositories import watchlist
from shared.repositories.jobs import FrameRecord
from shared.settings import get_settings
from worker.engine.analysis import VideoAnalysis, analyze_image, model_summary
from worker.engine.outputs import WatchEntry
from worker.errors import JobLostError, MediaError, ModelUnavailableError
from worker.runtime import run
from worker.services.events import publish
from worker.services.progress_webhooks import ProgressWebhooks

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "the analysis stopped on an internal error; the operators have the details"
# The database went away under the job (a restart, a failover, the network). DBConnectionError
# and socket errors are ConnectionErrors; asyncpg raises its own for a connection cut mid-query.
DATABASE_UNAVAILABLE = (
    ConnectionError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
)
# Storage that cannot take a write for now: full, read-only or over quota.
STORAGE_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)


def run_job(job_id: UUID, kind: JobKind) -> None:
    settings = get_settings()
    job = run(repo.claim(job_id, settings.job_max_attempts))
    if job is None:
        _explain_unclaimed(job_id, settings.job_max_attempts)
        return
    logger.info("job %s: attempt %d started (%s)", job_id, job.attempts, kind)
    publish(job.id, "status", status=JobStatus.PROCESSING, attempt=job.attempts)
    try:
        path = storage.resolve(job.media_path or "")
        params = JobParams.model_validate(job.params, context=params_context(settings))
        if kind is JobKind.IMAGE:
            _run_image(job, path, params)
        else:
            _run_video(job, path, params, settings.progress_interval_s)
    except JobLostError:
        logger.info("job %s: no longer ours (deleted or superseded); stopped", job_id)
        return
    except DATABASE_UNAVAILABLE as exc:
        # Failing the job would need the database too, and would turn its restart into a
        # lost job: left `processing` with its media, the job goes back to the queue once the
        # sweeper sees its heartbeat stop, and its frames are overwritten by the rerun.
        logger.warning("job %s: database unavailable (%r); the sweeper will re-run it", job_id, exc)
        return
    except (MediaError, ModelUnavailableError) as exc:
        _fail(job, str(exc))
    except SoftTimeLimitExceeded:
        limit = (
            settings.image_soft_time_limit_s
            if kind is JobKind.IMAGE
            else settings.video_soft_time_limit_s
        )
        _fail(job, f"the analysis took longer than the {limit}s limit")
    except Exception as exc:
        if _storage_unavailable(exc):
            # The operators' to fix, not the job's fault: left to the sweeper as above, the
            # job runs again, within its attempts, once the storage takes writes.
            logger.warning(
                "job %s: storage refused a write (%s); the sweeper will re-run it", job_id, exc
            )
            return
        logger.exception("job %s: unexpected failure", job_id)
        _fail(job, INTERNAL_ERROR)
    storage.delete(job.media_path)


def _storage_unavailable(exc: BaseException) -> bool:
    """Whether a write was refused for want of space or write access, anywhere along the
    exception's causes: as an OSError, or in the text of the video encoder's error (ffmpeg
    reports the system's message)."""
    messages = [os.strerror(code) for code in STORAGE_ERRNOS]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            return True
        if any(message in str(current) for message in messages):
            return True
        current = current.__cause__ or current.__context__
    return False


def _annotated_fields(relative: str | None) -> dict[str, object]:
    if relative is None:
        return {}
    retention = timedelta(hours=get_settings().annotated_retention_hours)
    return {"annotated_path": relative, "annotated_expires_at": utcnow() + retention}


def _explain_unclaimed(job_id: UUID, max_attempts: int) -> None:
    job = run(repo.get(job_id))
    if job is None:
        logger.info("job %s: gone before it started", job_id)
    elif job.status is JobStatus.QUEUED and job.attempts >= max_attempts:
        failed = run(outcome.give_up(job_id, max_attempts))
        if failed:
            storage.delete(job.media_path)
            _announce_failure(job, failed)
    else:
        logger.info("job %s: already %s; duplicate delivery ignored", job_id, job.status)


def _fail(job: Job, message: str) -> None:
    failed = run(outcome.fail(job.id, message, attempt=job.attempts))
    if failed:
        storage.delete_annotated(job.id)
        logger.warning("job %s: failed: %s", job.id, message)
        _announce_failure(job, failed, error=message)


def _announce_failure(job: Job, failed: outcome.Finished, **event: str) -> None:
    """Once a failure has committed: send its webhooks, tell live listeners, count it."""
    enqueue_deliveries(failed.deliveries)
    publish(job.id, "status", status=JobStatus.FAILED, **event)
    metrics.record_job(job.kind, "failed")


def _watchlist(job: Job, params: JobParams) -> list[WatchEntry]:
    if params.detector("plates") is None:
        return []
    owner_id: UUID = job.owner_id  # type: ignore[attr-defined]  # Tortoise's FK column
    return [WatchEntry(*entry) for entry in run(watchlist.entries_for_matching(owner_id))]


def _run_image(job: Job, path: Path, params: JobParams) -> None:
    analysis = analyze_image(path, params, _watchlist(job, params))
    media = {**(job.media or {}), "width": analysis.width, "height": analysis.height}
    annotated: str | None = None
    if analysis.annotated_jpeg is not None:
        annotated, absolute = storage.annotated_path(job.id, job.attempts, ".jpg")
        absolute.write_bytes(analysis.annotated_jpeg)
    done = run(
        outcome.complete(
            job.id,
            job.attempts,
            [analysis.frame],
            summary=analysis.summary,
            media=media,
            model_info=model_summary(),
            processing_time=analysis.processing_time,
            frames_processed=1,
            frames_total=1,
            **_annotated_fields(annotated),
        )
    )
    if not done:
        storage.delete(annotated)
        raise JobLostError
    enqueue_deliveries(done.deliveries)
    publish(job.id, "status", status=JobStatus.COMPLETED)
    seconds = analysis.processing_time
    metrics.record_job(job.kind, "completed", 1, 1 / seconds if seconds else None)


def _run_video(job: Job, path: Path, params: JobParams, interval: float) -> None:
    started = time.monotonic()
    annotated, absolute = (
        storage.annotated_path(job.id, job.attempts, ".mp4") if params.annotate else (None, None)
    )
    analysis = VideoAnalysis(path, params, annotated_to=absolute, watchlist=_watchlist(job, params))
    batch: list[FrameRecord] = []
    last_flush = started
    progress_webhooks = ProgressWebhooks(job)
    # Closing the generator on the way out (a cancelled job) stops the annotated writer.
    with contextlib.closing(analysis.frames()) as frames:
        for record in frames:
            batch.append(record)
            now = time.monotonic()
            if now - last_flush >= interval:
                _flush_progress(job, analysis, batch, now - started, progress_webhooks)
                batch = []
                last_flush = now
    elapsed = time.monotonic() - started
    done = run(
        outcome.complete(
            job.id,
            job.attempts,
            batch,
            summary=analysis.summary,
            media={**(job.media or {}), **analysis.info.as_dict()},
            model_info=model_summary(),
            processing_time=round(elapsed, 3),
            frames_processed=analysis.frames_processed,
            frames_total=analysis.frames_processed,
            processing_speed=round(analysis.frames_processed / elapsed, 3) if elapsed else None,
            **_annotated_fields(annotated),
        )
    )
    if not done:
        storage.delete(annotated)
        raise JobLostError
    enqueue_deliveries(done.deliveries)
    publish(job.id, "status", status=JobStatus.COMPLETED)
    fps = analysis.frames_processed / elapsed if elapsed else None
    metrics.record_job(job.kind, "completed", analysis.frames_processed, fps)


def _flush_progress(
    job: Job,
    analysis: VideoAnalysis,
    batch: list[FrameRecord],
    elapsed: float,
    webhooks: ProgressWebhooks,
) -> None:
    processed = analysis.frames_processed
    total = analysis.frames_expected
    speed = processed / elapsed if elapsed > 0 else 0.0
    progress = min(99.0, 100.0 * processed / total) if total else 0.0
    eta = utcnow() + timedelta(seconds=(total - processed) / speed) if total and speed > 0 else None
    still_ours = run(
        repo.write_progress(
            job.id,
            job.attempts,
            batch,
            progress=round(progress, 2),
            frames_processed=processed,
            frames_total=total,
            processing_speed=round(speed, 3),
            estimated_completion=eta,
        )
    )
    if not still_ours:
        raise JobLostError
    publish(
        job.id,
        "progress",
        status=JobStatus.PROCESSING,
        progress=round(progress, 2),
        frames_processed=processed,
        frames_total=total,
        processing_speed=round(speed, 3),
    )
    webhooks.send(
        progress=round(progress, 2),
        frames_processed=processed,
        frames_total=total,
        processing_speed=round(speed, 3),
    )
