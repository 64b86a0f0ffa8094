from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from api.deps import CurrentUser, Page, RedisClient, WriteUser
from api.jobs import batch, events, service
from api.jobs.dependencies import OwnedJob
from api.jobs.schemas import (
    BatchAccepted,
    ImageResult,
    JobAccepted,
    JobList,
    JobResults,
    JobStatusRead,
)
from api.openapi import raises
from shared.db.enums import JobKind, JobStatus
from shared.repositories import jobs as repo
from shared.settings import get_settings

router = APIRouter(tags=["jobs"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "params": {
                            "type": "string",
                            "description": "JSON object of JobParams, e.g. "
                            '{"confidence_threshold": 0.4, "classes": ["person"]}',
                        },
                        "callback_url": {
                            "type": "string",
                            "description": "where to send this job's job.completed / "
                            "job.failed webhook, signed with the account's callback secret "
                            "(POST /api/v1/webhooks/callback-secret)",
                        },
                    },
                }
            }
        },
    }
}

PageSize = Annotated[int, Query(ge=1, le=500)]


@router.post(
    "/process/image",
    response_model=ImageResult,
    responses={202: {"model": JobAccepted, "description": "still running after the wait"}},
    openapi_extra=UPLOAD_BODY,
)
@raises(415)
async def process_image(request: Request, user: WriteUser, redis: RedisClient) -> Any:
    job = await service.create_job(request, user, JobKind.IMAGE)
    request.state.job_id = str(job.id)  # for the access log
    job = await service.enqueue_and_wait(job, redis, get_settings().image_wait_s)
    if not job.status.is_terminal:
        return JSONResponse(
            service.accepted(job).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
        )
    return await service.image_result(job)


@raises(415)
async def _submit_video(request: Request, user: WriteUser) -> JobAccepted:
    job = await service.create_job(request, user, JobKind.VIDEO)
    request.state.job_id = str(job.id)  # for the access log
    await service.enqueue(job)
    return service.accepted(job)


router.add_api_route(
    "/process/video",
    _submit_video,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=UPLOAD_BODY,
    summary="Process video",
)
router.add_api_route(
    "/tasks/video-objects-detection/",
    _submit_video,
    methods=["POST"],
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=UPLOAD_BODY,
    summary="Process video (compatibility route)",
)

BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "description": "images and/or videos, one `files` part each",
                        },
                        "params": {
                            "type": "string",
                            "description": "JSON object of JobParams, applied to every file",
                        },
                        "callback_url": {
                            "type": "string",
                            "description": "receives job.completed and job.failed of every job",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/process/batch",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=BATCH_BODY,
    responses={422: {"description": "bad params, or no file could be accepted (no_valid_files)"}},
)
@raises(415)
async def process_batch(request: Request, user: WriteUser) -> BatchAccepted:
    """One job per file, all with the same params. A bad file is reported in its item and
    does not stop the others."""
    return await batch.create_batch(request, user)


@router.get("/jobs")
async def list_jobs(
    user: CurrentUser,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> JobList:
    items, total = await repo.list_owned(user.id, status_, (page - 1) * page_size, page_size)
    return JobList(
        items=[service.list_item(job) for job in items], total=total, page=page, page_size=page_size
    )


@router.get("/jobs/{job_id}/status")
async def job_status(job: OwnedJob) -> JobStatusRead:
    return service.status_read(job)


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        429: {
            "description": f"you have {events.MAX_STREAMS_PER_USER} event streams open already; "
            "see Retry-After"
        },
    },
)
async def job_events(
    job: OwnedJob, user: CurrentUser, redis: RedisClient, request: Request
) -> StreamingResponse:
    """Live progress: `status` (the current status), then `progress` and `status` events as the
    worker sends them, `: keepalive` comments every 15 s, and `end` once the job has finished."""
    slot = events.StreamSlot(redis, user.id)
    await slot.acquire()
    return StreamingResponse(
        events.job_events(job.id, redis, slot, events.StreamCredential.of(request)),
        media_type="text/event-stream",
        headers=events.HEADERS,
    )


@raises(409)
async def _results(job: OwnedJob, page: Page = 1, page_size: PageSize = 100) -> JobResults:
    return await service.results(job, page, page_size)


router.add_api_route("/jobs/{job_id}/results", _results, methods=["GET"], summary="Job results")
router.add_api_route(
    "/tasks/video-analysis-result/{job_id}/",
    _results,
    methods=["GET"],
    summary="Job results (compatibility route)",
)


@router.get(
    "/jobs/{job_id}/annotated",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "video/mp4": {}}, "description": "annotated output"},
        404: {"description": "no such job, or it was not submitted with params.annotate"},
        409: {"description": "the job has not completed"},
        410: {"description": "the output was deleted after its retention time"},
    },
)
async def annotated(job: OwnedJob) -> FileResponse:
    """The annotated JPEG (images) or H.264 MP4 (videos); MP4s answer range requests, so a
    browser's <video> element can seek."""
    path, media_type = service.annotated_file(job)
    extension = ".jpg" if media_type == "image/jpeg" else ".mp4"
    return FileResponse(path, media_type=media_type, filename=f"{job.id}-annotated{extension}")


@router.delete("/jobs/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_job(_: WriteUser, job: OwnedJob) -> Response:
    await service.delete(job)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
