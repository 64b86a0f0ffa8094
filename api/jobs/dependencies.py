from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import CurrentUser, parse_uuid
from api.openapi import raises
from shared.db.models import Job
from shared.errors import NotFoundError
from shared.repositories import jobs as repo


@raises(404)
async def owned_job(job_id: str, user: CurrentUser) -> Job:
    """The job if it exists and belongs to the caller; 404 alike for missing and foreign ids."""
    parsed = parse_uuid(job_id)
    job = await repo.get_owned(parsed, user.id) if parsed else None
    if job is None:
        raise NotFoundError(f"job {job_id} not found")
    return job


OwnedJob = Annotated[Job, Depends(owned_job)]
