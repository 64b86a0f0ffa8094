from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse

from api.deps import CurrentUser, RedisClient
from api.jobs import service
from api.jobs.dependencies import OwnedJob
from api.jobs.schemas import ImageResult, JobAccepted, JobList, JobResults, JobStatusRead
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
                    },
                }
            }
        },
    }
}

Page = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=500)]


@router.post(
    "/process/image",
    response_model=ImageResult,
    responses={202: {"model": JobAccepted, "description": "still running after the wait"}},
    openapi_extra=UPLOAD_BODY,
)
async def process_image(request: Request, user: CurrentUser, redis: RedisClient) -> Any:
    job = await service.create_job(request, user, JobKind.IMAGE)
    job = await service.enqueue_and_wait(job, redis, get_settings().image_wait_s)
    if not job.status.is_terminal:
        return JSONResponse(
            service.accepted(job).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
        )
    return await service.image_result(job)


async def _submit_video(request: Request, user: CurrentUser) -> JobAccepted:
    job = await service.create_job(request, user, JobKind.VIDEO)
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
    summary="Process video (seed 002 alias)",
)


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


async def _results(job: OwnedJob, page: Page = 1, page_size: PageSize = 100) -> JobResults:
    return await service.results(job, page, page_size)


router.add_api_route("/jobs/{job_id}/results", _results, methods=["GET"], summary="Job results")
router.add_api_route(
    "/tasks/video-analysis-result/{job_id}/",
    _results,
    methods=["GET"],
    summary="Job results (seed 002 alias)",
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
async def delete_job(job: OwnedJob) -> Response:
    await service.delete(job)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
