from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.text import NoNul, ShortText
from shared.db.enums import DeliveryStatus
from shared.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.webhooks.destinations import MAX_URL_LENGTH

# shared.contracts.WEBHOOK_EVENT_TYPES, spelled out for the OpenAPI schema (a unit test keeps
# the two equal).
EventType = Literal[
    "job.completed",
    "job.failed",
    "job.progress",
    "plate.watchlist_match",
    "camera.online",
    "camera.offline",
]

URL_DESCRIPTION = "http(s) URL of a public address; no credentials in it"
Url = Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), NoNul]


def _unique(event_types: list[EventType] | None) -> list[EventType] | None:
    return list(dict.fromkeys(event_types)) if event_types is not None else None


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(
        description=URL_DESCRIPTION,
        examples=["https://example.com/hooks/vigil"],
    )
    event_types: list[EventType] = Field(min_length=1, description="the events to send there")
    description: ShortText | None = None

    _dedupe = field_validator("event_types")(_unique)


class WebhookUpdate(BaseModel):
    """Only the fields sent change; `description: null` clears it. Re-enabling
    (`is_active: true`) forgets why the endpoint was disabled."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = Field(default=None, description=URL_DESCRIPTION)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: ShortText | None = None
    is_active: bool | None = None

    _dedupe = field_validator("event_types")(_unique)

    @model_validator(mode="after")
    def _no_nulls(self) -> WebhookUpdate:
        for name in ("url", "event_types", "is_active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WebhookRead(BaseModel):
    id: UUID
    url: str
    description: str | None
    event_types: list[str]
    is_active: bool
    disabled_reason: str | None = Field(description="why it stopped receiving, when inactive")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookRead:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=endpoint.event_types,
            is_active=endpoint.is_active,
            disabled_reason=endpoint.disabled_reason,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="signs this endpoint's webhooks (Standard Webhooks whsec_...); shown only "
        "here and on rotation"
    )


class WebhookList(BaseModel):
    items: list[WebhookRead]
    total: int


class SecretRead(BaseModel):
    secret: str = Field(description="whsec_...; shown only now")


class DeliveryRead(BaseModel):
    id: UUID
    endpoint_id: UUID | None = Field(description="null for a job's callback_url")
    job_id: UUID | None
    url: str = Field(
        description="where the last attempt went, or the next will go: an endpoint's delivery "
        "follows the endpoint's URL"
    )
    event_type: str
    msg_id: str = Field(description="the webhook-id header, the same on every attempt")
    status: DeliveryStatus
    attempts: int = Field(description="attempts in the current round (a redelivery starts one)")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="the body sent: {type, timestamp, data}")

    @classmethod
    def fields_of(cls, delivery: WebhookDelivery) -> dict[str, Any]:
        return {
            "id": delivery.id,
            "endpoint_id": delivery.endpoint_id,  # type: ignore[attr-defined]
            "job_id": delivery.job_id,  # type: ignore[attr-defined]
            "url": delivery.url,
            "event_type": delivery.event_type,
            "msg_id": delivery.msg_id,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "next_attempt_at": delivery.next_attempt_at,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
            "delivered_at": delivery.delivered_at,
            "created_at": delivery.created_at,
            "payload": delivery.payload,
        }

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> DeliveryRead:
        return cls(**cls.fields_of(delivery))


class AttemptRead(BaseModel):
    number: int = Field(description="1 for the first attempt ever, counting across redeliveries")
    url: str | None = Field(description="where this attempt went")
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None = Field(
        description="the first 1 KB of the response body; never kept for a private destination "
        "the operator allowed"
    )

    @classmethod
    def from_model(cls, attempt: WebhookAttempt) -> AttemptRead:
        return cls(
            number=attempt.number,
            url=attempt.url,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            status_code=attempt.status_code,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt,
        )


class DeliveryDetail(DeliveryRead):
    attempt_log: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    total: int
    page: int
    page_size: int
