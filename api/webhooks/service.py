"""Webhook endpoints, the callback secret, delivery listings and redelivery; and the
`callback_url` of job submissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api import ratelimit
from api.audit import audit
from api.webhooks.schemas import (
    AttemptRead,
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
from shared.db.models import Job, User, WebhookDelivery, WebhookEndpoint
from shared.enqueue import enqueue_delivery
from shared.errors import NotFoundError, UnprocessableError
from shared.repositories import webhooks as repo
from shared.settings import get_settings
from shared.webhooks.destinations import MAX_URL_LENGTH, check_destination_async
from shared.webhooks.signing import new_secret

CALLBACK_URL_FIELD = "callback_url"
REDELIVERIES = ratelimit.Rule(
    "webhook_redeliver",
    lambda s: s.webhook_redeliver_per_minute,
    60,
    "redeliveries per minute for this webhook endpoint (or for your callback URLs)",
)


async def _checked_url(url: str, field: str) -> str:
    """The URL if webhooks may go there (the SSRF guard); 422 naming `field` otherwise."""
    settings = get_settings()
    try:
        await check_destination_async(
            url, settings.webhook_allowed_networks, settings.webhook_public_ports
        )
    except UnprocessableError as exc:
        message = f"{field}: {exc.detail}"
        raise UnprocessableError(
            message, extra={"fields": [{"field": field, "message": exc.detail}]}
        ) from exc
    return url


async def callback_url_for(user: User, raw: str | None) -> str | None:
    """A submission's `callback_url` form field, checked: None when absent or blank; 422 when
    the URL is refused or the account has no callback secret to sign with yet."""
    url = (raw or "").strip()
    if not url:
        return None
    if len(url) > MAX_URL_LENGTH:
        raise UnprocessableError(
            f"{CALLBACK_URL_FIELD}: longer than {MAX_URL_LENGTH} characters",
            extra={"fields": [{"field": CALLBACK_URL_FIELD, "message": "too long"}]},
        )
    if user.callback_secret is None:
        message = (
            "your account has no callback secret to sign callbacks with; create one with "
            "POST /api/v1/webhooks/callback-secret"
        )
        raise UnprocessableError(
            message, extra={"fields": [{"field": CALLBACK_URL_FIELD, "message": message}]}
        )
    return await _checked_url(url, CALLBACK_URL_FIELD)


async def create_endpoint(request: Request, user: User, data: WebhookCreate) -> WebhookCreated:
    url = await _checked_url(data.url, "url")
    secret = new_secret()
    endpoint = await repo.create_endpoint(
        user.id, url, list(data.event_types), data.description, secret
    )
    await audit(
        request,
        "webhook_created",
        user.id,
        webhook_id=str(endpoint.id),
        url=url,
        event_types=endpoint.event_types,
    )
    return WebhookCreated(**WebhookRead.from_model(endpoint).model_dump(), secret=secret)


async def list_endpoints(user: User) -> WebhookList:
    endpoints = await repo.list_endpoints(user.id)
    return WebhookList(
        items=[WebhookRead.from_model(endpoint) for endpoint in endpoints], total=len(endpoints)
    )


async def update_endpoint(
    request: Request, user: User, endpoint: WebhookEndpoint, data: WebhookUpdate
) -> WebhookRead:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "url" in changes:
        changes["url"] = await _checked_url(changes["url"], "url")
    updated = await repo.update_endpoint(endpoint, changes)
    await audit(
        request, "webhook_updated", user.id, webhook_id=str(endpoint.id), fields=sorted(changes)
    )
    return WebhookRead.from_model(updated)


async def delete_endpoint(request: Request, user: User, endpoint: WebhookEndpoint) -> None:
    await repo.delete_endpoint(endpoint.id)
    await audit(request, "webhook_deleted", user.id, webhook_id=str(endpoint.id), url=endpoint.url)


def _secret_overlap() -> timedelta:
    return timedelta(seconds=get_settings().webhook_secret_overlap_s)


async def rotate_secret(request: Request, user: User, endpoint: WebhookEndpoint) -> SecretRead:
    """A new secret, effective for the next attempt of every delivery; the old one keeps
    signing alongside it for the overlap window."""
    secret = new_secret()
    await repo.rotate_endpoint_secret(endpoint.id, secret, _secret_overlap())
    await audit(request, "webhook_secret_rotated", user.id, webhook_id=str(endpoint.id))
    return SecretRead(secret=secret)


async def rotate_callback_secret(request: Request, user: User) -> SecretRead:
    """A new callback secret, as `rotate_secret` gives an endpoint: the one it replaces (if
    any) keeps signing alongside it for the overlap window."""
    secret = new_secret()
    await repo.rotate_callback_secret(user.id, secret, _secret_overlap())
    await audit(request, "callback_secret_rotated", user.id)
    return SecretRead(secret=secret)


async def endpoint_deliveries(
    user: User,
    endpoint: WebhookEndpoint,
    status: DeliveryStatus | None,
    page: int,
    page_size: int,
) -> DeliveryPage:
    items, total = await repo.deliveries_page(
        user.id, endpoint.id, status, (page - 1) * page_size, page_size
    )
    return DeliveryPage(
        items=[DeliveryRead.from_model(item) for item in items],
        total=total,
        page=page,
        page_size=page_size,
    )


async def delivery_detail(delivery: WebhookDelivery) -> DeliveryDetail:
    attempts = await repo.attempt_log(delivery.id)
    return DeliveryDetail(
        **DeliveryRead.fields_of(delivery),
        attempt_log=[AttemptRead.from_model(attempt) for attempt in attempts],
    )


async def redeliver(redis: aioredis.Redis, user: User, delivery: WebhookDelivery) -> DeliveryRead:
    """Pending again and sent now, with the same msg_id; the message goes out after commit.
    Counted per endpoint (per owner for callback URLs), refused or not: redeliveries must not
    become a way to keep the senders busy."""
    endpoint_id = delivery.endpoint_id  # type: ignore[attr-defined]
    identity = f"endpoint:{endpoint_id}" if endpoint_id else f"callbacks:{user.id}"
    await ratelimit.hit(redis, REDELIVERIES, identity)
    updated = await repo.redeliver(user.id, delivery.id)
    if updated is None:
        raise NotFoundError(f"webhook delivery {delivery.id} not found")
    await run_in_threadpool(enqueue_delivery, updated.id)
    return DeliveryRead.from_model(updated)


async def job_deliveries(user: User, job: Job, page: int, page_size: int) -> DeliveryPage:
    items, total = await repo.job_deliveries_page(
        user.id, job.id, (page - 1) * page_size, page_size
    )
    return DeliveryPage(
        items=[DeliveryRead.from_model(item) for item in items],
        total=total,
        page=page,
        page_size=page_size,
    )
