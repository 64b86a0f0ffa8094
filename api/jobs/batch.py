"""Batch submission: several images and videos in one request, one job each.

A bad file is refused on its own (its item says why) and the others go on; a problem with
the request as a whole (its params or callback_url, too many files) refuses everything and
stores nothing."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from tortoise.transactions import in_transaction

from api.jobs.schemas import BatchAccepted, BatchItemRejected, BatchJobAccepted
from api.jobs.service import enqueue, results_url, status_url, upload_limits
from api.jobs.upload import Rejected, Upload, discard_on_error, receive_batch
from api.jobs.validation import inspect_media, parse_params
from api.webhooks.service import CALLBACK_URL_FIELD, callback_url_for
from shared import storage
from shared.db.models import Job, User
from shared.errors import UnprocessableError
from shared.repositories import jobs as repo
from shared.settings import get_settings


class NoValidFilesError(UnprocessableError):
    code = "no_valid_files"


async def _checked(item: Upload | Rejected) -> tuple[Upload, dict[str, Any]] | Rejected:
    """The upload with its media facts, or why it cannot be analysed (its file then deleted)."""
    if isinstance(item, Rejected):
        return item
    try:
        return item, await run_in_threadpool(inspect_media, item)
    except UnprocessableError as exc:
        storage.delete(item.relative_path)
        return Rejected(item.filename, exc)


def _rejected(index: int, item: Rejected) -> BatchItemRejected:
    return BatchItemRejected(
        index=index, filename=item.filename, error=item.error.code, detail=item.error.detail
    )


def _accepted(index: int, filename: str | None, job: Job) -> BatchJobAccepted:
    return BatchJobAccepted(
        index=index,
        filename=filename,
        job_id=job.id,
        kind=job.kind,
        status=job.status,
        status_url=status_url(job.id),
        results_url=results_url(job.id),
    )


async def create_batch(request: Request, user: User) -> BatchAccepted:
    batch = await receive_batch(request, upload_limits(), get_settings().max_batch_files)
    with discard_on_error(*batch.uploads):
        params = parse_params(batch.fields).model_dump(mode="json")
        callback_url = await callback_url_for(user, batch.fields.get(CALLBACK_URL_FIELD))
        checked = [await _checked(item) for item in batch.items]
        if all(isinstance(item, Rejected) for item in checked):
            raise NoValidFilesError(
                f"none of the {len(checked)} files can be analysed; `jobs` says why for each",
                extra={
                    "jobs": [
                        _rejected(i, item).model_dump(mode="json")
                        for i, item in enumerate(checked)
                        if isinstance(item, Rejected)
                    ]
                },
            )
        # All the jobs or none: a failure halfway must not leave jobs the client never heard of.
        items: list[BatchJobAccepted | BatchItemRejected] = []
        jobs: list[Job] = []
        async with in_transaction():
            for index, item in enumerate(checked):
                if isinstance(item, Rejected):
                    items.append(_rejected(index, item))
                    continue
                upload, media = item
                job = await repo.create(
                    user.id,
                    upload.fmt.kind,
                    params,
                    upload.relative_path,
                    media,
                    callback_url=callback_url,
                )
                jobs.append(job)
                items.append(_accepted(index, upload.filename, job))
    for job in jobs:
        await enqueue(job)
    return BatchAccepted(accepted=len(jobs), rejected=len(items) - len(jobs), jobs=items)
