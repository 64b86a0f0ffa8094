from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.api_keys import scopes
from api.api_keys.scopes import Scope
from api.text import NoNul
from shared.db.models import ApiKey


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
    ] = Field(examples=["nightly camera upload"])
    scopes: list[Scope] | None = Field(
        default=None,
        min_length=1,
        description="`read` (always included), `write` (jobs, watchlist, profile), `admin` "
        "(API keys, webhooks, callback secret, password). Omitted: `read` and `write`. A key "
        "can only make keys with scopes it has itself.",
        examples=[["read"]],
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="when the key stops working (with a time zone); omitted: never, or, for a "
        "key made with a key that expires, when that key does",
    )

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return value


class ApiKeyRead(BaseModel):
    id: UUID
    name: str
    prefix: str = Field(description="the key's first characters, to tell keys apart")
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="updated at most once a minute")
    revoked_at: datetime | None
    created_by_key_id: UUID | None = Field(
        description="the key this one was made with; revoking that key revoked this one too"
    )

    @classmethod
    def from_model(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=scopes.parse(key.scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            created_by_key_id=key.created_by_key_id,
        )


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="send as `X-API-Key`; shown only in this response")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
    total: int
    page: int
    page_size: int
