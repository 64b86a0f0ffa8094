from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import Authenticated, current_user, parse_uuid
from api.openapi import raises
from shared.db.models import Job
from shared.errors import NotFoundError
from shared.repositories import jobs as repo


@raises(401, 404)
async def owned_job(job_id: str, caller: Authenticated) -> Job:
    """The job if it exists and belongs to the caller; 404 alike for missing and foreign ids.
    A bearer token's user is checked (active, at the token's version) by the same query that
    reads the job: one round trip to the database for every status poll."""
    parsed = parse_uuid(job_id)
    job: Job | None = None
    if parsed is not None and caller.owner is not None:
        job = await repo.get_owned(parsed, caller.owner.id)
    elif parsed is not None and caller.token_version is not None:
        job = await repo.get_owned_by_signed_in(parsed, caller.user_id, caller.token_version)
    if job is None:
        # Nothing found: a token that is no longer good must still answer 401, not 404.
        await current_user(caller)
        raise NotFoundError(f"job {job_id} not found")
    return job


OwnedJob = Annotated[Job, Depends(owned_job)]
