from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from api.cameras import service, validation
from api.cameras.dependencies import OwnedCamera
from api.cameras.schemas import (
    CameraBatch,
    CameraList,
    CameraRead,
    CameraReplace,
    CamerasPayload,
    CameraUpdate,
    ReplacePayload,
    UpdatePayload,
)
from api.deps import CurrentUser, Page, RedisClient, WriteUser
from shared.db.enums import CameraDesiredState, CameraState
from shared.errors import AppError
from shared.repositories import cameras as repo

router = APIRouter(tags=["cameras"])

Responses = dict[int | str, dict[str, Any]]
NOT_YOURS: Responses = {404: {"description": "no such camera of yours"}}
REFUSED: Responses = {
    422: {
        "description": "a field is invalid, the parameters leave nothing to analyse, or the "
        "stream_url is not allowed (scheme, address, file); `fields` names each problem"
    }
}
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.post(
    "/cameras",
    status_code=status.HTTP_201_CREATED,
    response_model=CameraRead | CameraBatch,
    responses={
        201: {"description": "the camera (one sent), or one item per camera (a list sent)"},
        409: {
            "description": "the camera_id is taken, or you have VIGIL_MAX_CAMERAS_PER_USER "
            "cameras; for a list, when that refused every camera"
        },
        422: {
            "description": "the camera is invalid (`fields` names each problem); for a list, "
            "when no camera could be created (`no_valid_cameras`, `cameras` says why for each)"
        },
    },
)
async def create_cameras(
    body: Annotated[CamerasPayload, Body()], user: WriteUser, redis: RedisClient
) -> Any:
    """Register one camera, or a list of them (the camera-analytics API's payload). A camera
    with status `active` starts at once. In a list each camera is refused on its own, and the
    answer has one item per camera: the camera, or why it was refused."""
    if isinstance(body, dict):
        (outcome,) = await service.register(user, redis, [body])
        if isinstance(outcome, AppError):
            raise outcome
        return service.read(outcome)
    outcomes = await service.register(user, redis, body)
    answer = service.batch(body, outcomes)
    if not answer.accepted:
        raise service.nothing_created(
            outcomes, [item.model_dump(mode="json") for item in answer.cameras]
        )
    return answer


@router.get("/cameras")
async def list_cameras(
    user: CurrentUser,
    state: Annotated[CameraState | None, Query(description="what the camera does now")] = None,
    status_: Annotated[
        CameraDesiredState | None, Query(alias="status", description="what it was asked to do")
    ] = None,
    page: Page = 1,
    page_size: PageSize = 20,
) -> CameraList:
    """Your cameras by camera_id."""
    items, total = await repo.list_owned(user.id, state, status_, (page - 1) * page_size, page_size)
    return CameraList(
        items=[service.read(camera) for camera in items],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/cameras/{camera_id}", responses=NOT_YOURS)
async def get_camera(camera: OwnedCamera) -> CameraRead:
    return service.read(camera)


@router.put("/cameras/{camera_id}", responses={**NOT_YOURS, **REFUSED})
async def replace_camera(
    body: Annotated[ReplacePayload, Body()], _: WriteUser, camera: OwnedCamera, redis: RedisClient
) -> CameraRead:
    """Replace the camera's configuration (what is left out takes its default, credentials
    included). The camera restarts under a new generation."""
    replacement = validation.parse_body(CameraReplace, body)
    return service.read(await service.replace(camera, redis, replacement))


@router.patch("/cameras/{camera_id}", responses={**NOT_YOURS, **REFUSED})
async def update_camera(
    body: Annotated[UpdatePayload, Body()], _: WriteUser, camera: OwnedCamera, redis: RedisClient
) -> CameraRead:
    """Change some of name, status, stream_url and parameters. A change of status,
    stream_url or parameters restarts the camera under a new generation; a new stream_url
    replaces the credentials (none if it has none)."""
    update = validation.parse_body(CameraUpdate, body)
    return service.read(await service.patch(camera, redis, update))


@router.delete("/cameras/{camera_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_camera(_: WriteUser, camera: OwnedCamera, redis: RedisClient) -> Response:
    """Stop the camera and delete its registration; the events it published stay."""
    await service.delete(camera, redis)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
