"""Batch submission: several images and videos in one request, one job each.

A bad file is refused on its own (its item says why) and the others go on; a problem with
the request as a whole (its params or callback_url, too many files) refuses everything and
stores nothing."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from tortoise.transactions import in_transaction

from api.jobs import quota
from api.jobs.schemas import BatchAccepted, BatchItemRejected, BatchJobAccepted
from api.jobs.service import enqueue, results_url, status_url, upload_limits
from api.jobs.upload import Rejected, Upload, discard_on_error, receive_batch
from api.jobs.validation import inspect_media, parse_params
from api.webhooks.service import CALLBACK_URL_FIELD, callback_url_for
from shared import storage
from shared.db.models import Job, User
from shared.errors import UnprocessableError
from shared.params import JobParams
from shared.repositories import jobs as repo
from shared.settings import get_settings


class NoValidFilesError(UnprocessableError):
    code = "no_valid_files"


async def _checked(
    item: Upload | Rejected, params: JobParams
) -> tuple[Upload, dict[str, Any]] | Rejected:
    """The upload with its media facts, or why it cannot be analysed (its file then deleted)."""
    if isinstance(item, Rejected):
        return item
    try:
        return item, await inspect_media(item, params)
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
    # A user already at a quota is refused before the body is read.
    await quota.check(user.id, jobs=1, size=1)
    batch = await receive_batch(request, upload_limits(), get_settings().max_batch_files)
    with discard_on_error(*batch.uploads):
        job_params = parse_params(batch.fields)
        params = job_params.model_dump(mode="json")
        callback_url = await callback_url_for(user, batch.fields.get(CALLBACK_URL_FIELD))
        checked = [await _checked(item, job_params) for item in batch.items]
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
        admitted = [item[0] for item in checked if not isinstance(item, Rejected)]
        async with in_transaction():
            # Every file counts towards the quotas; a batch past them is refused whole.
            await quota.hold(user.id, jobs=len(admitted), size=sum(u.size for u in admitted))
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
