from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.text import ShortText, Text
from shared.db.enums import WatchlistKind
from shared.db.models import WatchlistEntry
from shared.plates import WatchKind, normalise_watch_pattern


class WatchlistEntryCreate(BaseModel):
    """`plate` is normalised as it is validated, so the model holds the stored form."""

    model_config = ConfigDict(extra="forbid")

    # Declared before `plate`: the plate's validator reads it.
    kind: WatchKind = "exact"
    plate: Text = Field(
        description="a plate (separators and case ignored) or, for kind pattern, a pattern "
        "where * stands for any run of characters and ? for one character",
        examples=["KA-22 P 3368", "SN66*"],
    )
    label: ShortText | None = Field(default=None, examples=["stolen, report to desk"])

    @field_validator("plate")
    @classmethod
    def _normalise(cls, plate: str, info: ValidationInfo) -> str:
        kind: WatchKind | None = info.data.get("kind")
        if kind is None:  # the kind is invalid and reported on its own
            return plate
        return normalise_watch_pattern(plate, kind)


class WatchlistEntryRead(BaseModel):
    id: UUID
    kind: WatchlistKind
    pattern: str = Field(description="the entry as stored and matched: normalised")
    label: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, entry: WatchlistEntry) -> WatchlistEntryRead:
        return cls(
            id=entry.id,
            kind=entry.kind,
            pattern=entry.pattern,
            label=entry.label,
            created_at=entry.created_at,
        )
