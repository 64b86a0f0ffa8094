from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.deps import CurrentUser, parse_uuid
from api.openapi import raises
from shared.db.models import WebhookDelivery, WebhookEndpoint
from shared.errors import NotFoundError
from shared.repositories import webhooks as repo


@raises(404)
async def owned_endpoint(webhook_id: str, user: CurrentUser) -> WebhookEndpoint:
    """The endpoint if it exists and belongs to the caller; 404 alike for missing and foreign."""
    parsed = parse_uuid(webhook_id)
    endpoint = await repo.get_endpoint(user.id, parsed) if parsed else None
    if endpoint is None:
        raise NotFoundError(f"webhook {webhook_id} not found")
    return endpoint


@raises(404)
async def owned_delivery(delivery_id: str, user: CurrentUser) -> WebhookDelivery:
    parsed = parse_uuid(delivery_id)
    delivery = await repo.get_delivery(user.id, parsed) if parsed else None
    if delivery is None:
        raise NotFoundError(f"webhook delivery {delivery_id} not found")
    return delivery


OwnedEndpoint = Annotated[WebhookEndpoint, Depends(owned_endpoint)]
OwnedDelivery = Annotated[WebhookDelivery, Depends(owned_delivery)]
