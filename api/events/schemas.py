from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

from shared.db.enums import CameraEventType
from shared.db.models import CameraEvent

# What the text must start with: pydantic alone would also take a number (Unix seconds).
_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def _iso_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date and time with a time zone")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Near the ends of the calendar an offset cannot be applied (0001-01-01T00:00+01:00 is
        # in year 0): such a moment is before (or after) anything there is.
        limit = datetime.min if value.year == datetime.min.year else datetime.max
        return limit.replace(tzinfo=UTC)


# ISO 8601 with a time zone (`2026-11-29T13:00:00Z`): a time without one would be read in
# whatever zone the server happens to run in.
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]


class CameraEventRead(BaseModel):
    """A camera event kept for search: a plate read (`anpr`), a watchlist match
    (`watchlist_match`) or a state change (`status`)."""

    event_id: UUID = Field(description="the event's id on the Redis Stream as well")
    type: CameraEventType
    camera_id: str
    camera_uuid: UUID
    plate: str | None = Field(description="the plate read, normalised; null for `status`")
    timestamp: datetime = Field(description="capture time of the frame the event is about")
    generation: int
    payload: dict[str, Any] = Field(description="the whole event, as published on the stream")
    created_at: datetime

    @classmethod
    def of(cls, event: CameraEvent) -> CameraEventRead:
        return cls(
            event_id=event.event_id,
            type=event.type,
            camera_id=event.camera_id,
            camera_uuid=event.camera_uuid,
            plate=event.plate,
            timestamp=event.timestamp,
            generation=event.generation,
            payload=event.payload,
            created_at=event.created_at,
        )


class CameraEventList(BaseModel):
    items: list[CameraEventRead]
    total: int
    page: int
    page_size: int
