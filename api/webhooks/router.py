from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import AdminUser, CurrentUser, Page, RedisClient
from api.jobs.dependencies import OwnedJob
from api.webhooks import service
from api.webhooks.dependencies import OwnedDelivery, OwnedEndpoint
from api.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    SecretRead,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRead,
    WebhookUpdate,
)
from shared.db.enums import DeliveryStatus

router = APIRouter(tags=["webhooks"])

Responses = dict[int | str, dict[str, Any]]
NOT_YOURS: Responses = {404: {"description": "no such webhook of yours"}}
REFUSED: Responses = {
    422: {"description": "the URL is not http(s), carries credentials or is not public"}
}


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    responses={**REFUSED, 409: {"description": "you have the most endpoints allowed"}},
)
async def create_webhook(data: WebhookCreate, request: Request, user: AdminUser) -> WebhookCreated:
    """Register a URL for some event types. The answer holds the endpoint's signing secret,
    shown only here and on rotation."""
    return await service.create_endpoint(request, user, data)


@router.get("/webhooks")
async def list_webhooks(user: CurrentUser) -> WebhookList:
    return await service.list_endpoints(user)


@router.post("/webhooks/callback-secret", status_code=status.HTTP_201_CREATED)
async def rotate_callback_secret(request: Request, user: AdminUser) -> SecretRead:
    """Create or replace the secret that signs the webhooks sent to jobs' `callback_url`s; a
    replaced one keeps signing alongside for `VIGIL_WEBHOOK_SECRET_OVERLAP_S`."""
    return await service.rotate_callback_secret(request, user)


@router.get("/webhooks/{webhook_id}", responses=NOT_YOURS)
async def get_webhook(endpoint: OwnedEndpoint) -> WebhookRead:
    return WebhookRead.from_model(endpoint)


@router.patch("/webhooks/{webhook_id}", responses={**NOT_YOURS, **REFUSED})
async def update_webhook(
    data: WebhookUpdate, request: Request, user: AdminUser, endpoint: OwnedEndpoint
) -> WebhookRead:
    return await service.update_endpoint(request, user, endpoint, data)


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS
)
async def delete_webhook(request: Request, user: AdminUser, endpoint: OwnedEndpoint) -> Response:
    """Delete the endpoint and its delivery history."""
    await service.delete_endpoint(request, user, endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks/{webhook_id}/rotate-secret", responses=NOT_YOURS)
async def rotate_webhook_secret(
    request: Request, user: AdminUser, endpoint: OwnedEndpoint
) -> SecretRead:
    return await service.rotate_secret(request, user, endpoint)


@router.get("/webhooks/{webhook_id}/deliveries", responses=NOT_YOURS)
async def webhook_deliveries(
    user: CurrentUser,
    endpoint: OwnedEndpoint,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first."""
    return await service.endpoint_deliveries(user, endpoint, status_, page, page_size)


@router.get(
    "/webhook-deliveries/{delivery_id}",
    responses={404: {"description": "no such delivery of yours"}},
)
async def get_delivery(delivery: OwnedDelivery) -> DeliveryDetail:
    """A delivery with every attempt made: status, duration, error and the response's start."""
    return await service.delivery_detail(delivery)


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: {"description": "no such delivery of yours"},
        409: {"description": "its endpoint is disabled, or an attempt at it is in flight"},
        429: {"description": "too many redeliveries for this endpoint in the last minute"},
    },
)
async def redeliver(redis: RedisClient, user: AdminUser, delivery: OwnedDelivery) -> DeliveryRead:
    """Send the delivery again now, with the same webhook-id, whatever became of it, to the
    endpoint's current URL."""
    return await service.redeliver(redis, user, delivery)


@router.get("/jobs/{job_id}/deliveries", responses={404: {"description": "no such job of yours"}})
async def job_deliveries(
    user: CurrentUser,
    job: OwnedJob,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The webhooks this job produced, to endpoints and its callback_url, oldest first."""
    return await service.job_deliveries(user, job, page, page_size)
