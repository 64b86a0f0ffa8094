"""Per-user quotas: jobs queued or processing, and bytes kept in storage (uploads waiting for
analysis plus annotated outputs). One account can neither fill the queue that every user
shares nor the disk."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from uuid import UUID

import anyio

from shared import storage
from shared.errors import PayloadTooLargeError, RateLimitedError
from shared.repositories import jobs as repo
from shared.settings import get_settings

# Jobs take seconds to minutes; a client told to come back sooner would only be refused again.
RETRY_AFTER_S = 30


class ActiveJobsQuotaError(RateLimitedError):
    code = "active_jobs_quota_exceeded"


class StorageQuotaError(PayloadTooLargeError):
    code = "storage_quota_exceeded"


def _sizes(paths: Sequence[str]) -> int:
    total = 0
    for relative in paths:
        with contextlib.suppress(OSError, ValueError):
            total += storage.resolve(relative).stat().st_size
    return total


async def stored_bytes(owner_id: UUID) -> int:
    uploads, annotated = await repo.stored_files(owner_id)
    return uploads + await anyio.to_thread.run_sync(_sizes, annotated)


async def check(owner_id: UUID, jobs: int, size: int) -> None:
    """Refuse when `jobs` more jobs and `size` more bytes would take the user past a quota.
    Binding only inside a transaction that called `hold` first; outside, an early refusal
    that spares receiving a whole upload."""
    settings = get_settings()
    active = await repo.count_active(owner_id)
    if active + jobs > settings.max_active_jobs_per_user:
        limit = settings.max_active_jobs_per_user
        raise ActiveJobsQuotaError(
            f"you have {active} jobs queued or processing and at most {limit} are allowed at "
            f"once; submit more when some have finished",
            limit=limit,
            retry_after=RETRY_AFTER_S,
        )
    used = await stored_bytes(owner_id)
    quota = settings.max_storage_bytes_per_user
    if used + size > quota:
        raise StorageQuotaError(
            f"storage quota exceeded: your uploads waiting for analysis and annotated outputs "
            f"take {used} bytes, this upload {size} more, and the quota is {quota} bytes; "
            "delete finished jobs to free space",
            extra={"quota_bytes": quota, "used_bytes": used, "upload_bytes": size},
        )


async def hold(owner_id: UUID, jobs: int, size: int) -> None:
    """Inside the transaction that creates the jobs: check the quotas with the user's row
    locked, so that concurrent uploads are counted one after another."""
    await repo.lock_owner(owner_id)
    await check(owner_id, jobs, size)
