from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.cameras.dependencies import OwnedCamera
from api.cameras.schemas import CAMERA_ID_PATTERN
from api.deps import CurrentUser, Page, RedisClient
from api.events import service, stream
from api.events.schemas import CameraEventList, Moment
from api.jobs.events import HEADERS, MAX_STREAMS_PER_USER
from shared.db.enums import CameraEventType
from shared.repositories import cameras as cameras_repo

router = APIRouter(tags=["events"])

PageSize = Annotated[int, Query(ge=1, le=100)]


def _last_event_id() -> Any:
    """The Last-Event-ID header: a stream entry id, `<ms>-<seq>` (19 digits each stay below
    2^64, which Redis requires). Declared as a default rather than in Annotated, so that it can
    be typed `str` with None as default: the document then says a string, where `str | None`
    would say "or null", which a header cannot be."""
    return Header(
        None,
        alias="Last-Event-ID",
        pattern=r"^[0-9]{1,19}-[0-9]{1,19}$",
        description="resume after this event: the `id:` of the last message received",
    )


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
    429: {
        "description": f"you have {MAX_STREAMS_PER_USER} event streams open already; "
        "see Retry-After"
    },
}


@router.get("/events")
async def search_events(
    user: CurrentUser,
    camera_id: Annotated[
        str | None,
        Query(pattern=CAMERA_ID_PATTERN, description="one camera's events, deleted or not"),
    ] = None,
    type_: Annotated[CameraEventType | None, Query(alias="type")] = None,
    plate: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"[A-Za-z0-9]",
            description="a plate, matched exactly once normalised (`ab-12 cd` finds AB12CD)",
        ),
    ] = None,
    since: Annotated[Moment | None, Query(description="from this time on (inclusive)")] = None,
    until: Annotated[Moment | None, Query(description="before this time (exclusive)")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> CameraEventList:
    """Your cameras' plate reads (`anpr`), watchlist matches and state changes (`status`),
    newest first by capture time. Events outlive their camera: a deleted camera's history is
    still found by its `camera_id`."""
    return await service.search(
        user.id,
        camera_id=camera_id,
        event_type=type_,
        plate=plate,
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )


@router.get("/events/stream", response_class=StreamingResponse, responses=STREAM_RESPONSES)
async def stream_events(
    user: CurrentUser,
    redis: RedisClient,
    request: Request,
    last_event_id: str = _last_event_id(),
) -> StreamingResponse:
    """Every event of all your cameras as it is published: `ready` first, then one message per
    event (`id:` its stream entry id, `event:` its type, `data:` its JSON), `: keepalive`
    comments every 15 s. Send `Last-Event-ID` to resume exactly after an event; when events
    after it have been trimmed off the stream meanwhile, a `gap` message after `ready` says so
    and names the first one left (`first_available`)."""
    selection = stream.Selection("owner_id", str(user.id), {})
    events = await service.open_stream(request, redis, user.id, selection, last_event_id)
    return StreamingResponse(events, media_type="text/event-stream", headers=HEADERS)


@router.get(
    "/cameras/{camera_id}/events", response_class=StreamingResponse, responses=STREAM_RESPONSES
)
async def camera_events(
    camera: OwnedCamera,
    user: CurrentUser,
    redis: RedisClient,
    request: Request,
    last_event_id: str = _last_event_id(),
) -> StreamingResponse:
    """This camera's events as they are published, as `GET /events/stream` sends them; the
    stream ends with `end` when the camera is deleted."""
    selection = stream.Selection("camera_uuid", str(camera.id), {"camera_id": camera.camera_id})

    async def still_there() -> bool:
        current = await cameras_repo.get_owned(camera.owner_id, camera.camera_id)
        return current is not None and current.id == camera.id

    events = await service.open_stream(
        request, redis, user.id, selection, last_event_id, still_there
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=HEADERS)
