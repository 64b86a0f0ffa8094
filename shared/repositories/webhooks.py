"""Webhook queries: the API's (endpoints, callback secrets, delivery listings, redelivery) and the
worker's (the outbox rows shared.webhooks.outbox writes, claiming a delivery, recording an
attempt, the sweeper's due deliveries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.fields import CharField
from tortoise.timezone import now as utcnow
from tortoise.transactions import in_transaction

from shared.db.enums import DeliveryStatus
from shared.db.models import User, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from shared.errors import ConflictError
from shared.webhooks.signing import new_msg_id

MAX_ENDPOINTS_PER_USER = 50
ENDPOINT_DISABLED = "its webhook endpoint is disabled"
# The column's own limit: a disabled reason quotes the last error, which can be longer.
DISABLED_REASON_LENGTH = cast(
    CharField[str | None], WebhookEndpoint._meta.fields_map["disabled_reason"]
).max_length


# --- endpoints ---------------------------------------------------------------------------------


async def create_endpoint(
    owner_id: UUID, url: str, event_types: list[str], description: str | None, secret: str
) -> WebhookEndpoint:
    """ConflictError when the owner already has MAX_ENDPOINTS_PER_USER endpoints."""
    async with in_transaction() as conn:
        # Locking the owner serialises their concurrent creations, so the count cannot race.
        await User.filter(id=owner_id).using_db(conn).select_for_update().only("id")
        if await WebhookEndpoint.filter(owner_id=owner_id).using_db(conn).count() >= (
            MAX_ENDPOINTS_PER_USER
        ):
            raise ConflictError(
                f"you have {MAX_ENDPOINTS_PER_USER} webhook endpoints, the most allowed; "
                "delete one first"
            )
        return await WebhookEndpoint.create(
            owner_id=owner_id,
            url=url,
            event_types=event_types,
            description=description,
            secret=secret,
            using_db=conn,
        )


async def list_endpoints(owner_id: UUID) -> list[WebhookEndpoint]:
    return list(await WebhookEndpoint.filter(owner_id=owner_id).order_by("created_at", "id"))


async def get_endpoint(owner_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
    return await WebhookEndpoint.get_or_none(id=endpoint_id, owner_id=owner_id)


async def update_endpoint(endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    """Apply url / event_types / description / is_active; re-enabling forgets why the endpoint
    was disabled and its failure streak, disabling by hand records that. A new URL applies to
    the pending deliveries too: the owner may have abandoned the old one."""
    if changes.get("is_active") is True and not endpoint.is_active:
        changes = {**changes, "disabled_reason": None, "failure_streak": 0}
    elif changes.get("is_active") is False and endpoint.is_active:
        changes = {**changes, "disabled_reason": "disabled by its owner"}
    if changes:
        now = utcnow()
        async with in_transaction() as conn:
            await (
                WebhookEndpoint.filter(id=endpoint.id)
                .using_db(conn)
                .update(updated_at=now, **changes)
            )
            if "url" in changes:
                await (
                    WebhookDelivery.filter(endpoint_id=endpoint.id, status=DeliveryStatus.PENDING)
                    .using_db(conn)
                    .update(url=changes["url"], updated_at=now)
                )
    return await WebhookEndpoint.get(id=endpoint.id)


async def delete_endpoint(endpoint_id: UUID) -> None:
    """Deletes its deliveries too; a sender in the middle of one finds the row gone."""
    await WebhookEndpoint.filter(id=endpoint_id).delete()


def kept_after_rotation(
    replaced: str | None, overlap: timedelta, now: datetime
) -> tuple[str | None, datetime | None]:
    """What a rotation keeps signing, and until when: the secret it replaced, for `overlap` (not
    at all when that is zero, or when there was none). Whatever an earlier rotation kept is
    dropped, so only the secret replaced last keeps signing."""
    if replaced is None or overlap <= timedelta(0):
        return None, None
    return replaced, now + overlap


def signing_secrets(
    secret: str | None, previous: str | None, previous_until: datetime | None, now: datetime
) -> tuple[str, ...]:
    """The secrets that sign now, for an endpoint or an account's callbacks: the current one
    (first), and the one it replaced while that one's overlap lasts; none without a current one."""
    if secret is None:
        return ()
    if previous and previous_until is not None and previous_until > now:
        return (secret, previous)
    return (secret,)


async def rotate_endpoint_secret(endpoint_id: UUID, secret: str, overlap: timedelta) -> None:
    """Replace the endpoint's secret; the one replaced keeps signing alongside for `overlap`."""
    now = utcnow()
    async with in_transaction() as conn:
        # Locked so that two rotations at once keep the secret that really was current.
        endpoint = (
            await WebhookEndpoint.filter(id=endpoint_id).using_db(conn).select_for_update().first()
        )
        if endpoint is None:
            return
        previous, until = kept_after_rotation(endpoint.secret, overlap, now)
        await (
            WebhookEndpoint.filter(id=endpoint_id)
            .using_db(conn)
            .update(
                secret=secret, previous_secret=previous, previous_secret_until=until, updated_at=now
            )
        )


async def rotate_callback_secret(user_id: UUID, secret: str, overlap: timedelta) -> None:
    """Create or replace the account's callback secret; the one replaced keeps signing
    alongside for `overlap`."""
    now = utcnow()
    async with in_transaction() as conn:
        # Locked for the same reason as an endpoint's rotation.
        user = (
            await User.filter(id=user_id)
            .using_db(conn)
            .select_for_update()
            .only("id", "callback_secret")
            .first()
        )
        if user is None:
            return
        previous, until = kept_after_rotation(user.callback_secret, overlap, now)
        await (
            User.filter(id=user_id)
            .using_db(conn)
            .update(
                callback_secret=secret,
                previous_callback_secret=previous,
                previous_callback_secret_until=until,
                updated_at=now,
            )
        )


# --- the outbox ----------------------------------------------------------------------------------


async def subscribed_endpoints(
    conn: BaseDBAsyncClient, owner_id: UUID, event_type: str
) -> list[WebhookEndpoint]:
    """The owner's active endpoints subscribed to `event_type`."""
    endpoints = await WebhookEndpoint.filter(owner_id=owner_id, is_active=True).using_db(conn)
    return [endpoint for endpoint in endpoints if event_type in endpoint.event_types]


async def add_deliveries(
    conn: BaseDBAsyncClient,
    owner_id: UUID,
    event_type: str,
    payload: dict[str, Any],
    targets: Sequence[tuple[UUID | None, str]],
    job_id: UUID | None = None,
) -> list[UUID]:
    """Outbox rows of one message, due now, in the caller's transaction: one per target (an
    endpoint's id and URL, or None and a callback URL). Returns their ids."""
    now = utcnow()
    rows = [
        WebhookDelivery(
            owner_id=owner_id,
            endpoint_id=endpoint_id,
            job_id=job_id,
            url=url,
            event_type=event_type,
            msg_id=new_msg_id(),
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint_id, url in targets
    ]
    if rows:
        await WebhookDelivery.bulk_create(rows, using_db=conn)
    return [row.id for row in rows]


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds until `lease` (the fencing token `record_attempt` checks)."""

    id: UUID
    # Where to send it: the endpoint's URL as it is now, or the job's callback_url.
    url: str
    msg_id: str
    payload: dict[str, Any]
    # This attempt's number in the current round (a redelivery starts a new round).
    attempt: int
    lease: datetime
    endpoint_id: UUID | None
    # What to sign with: the endpoint's secrets, or the owner's callback secrets (the new one
    # first, during a rotation's overlap).
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """A delivery held only to be failed unsent (`abandon`), for `reason`."""

    id: UUID
    lease: datetime
    reason: str


def _due_and_unheld(due_by: datetime, now: datetime) -> tuple[Q, Q]:
    return (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by),
        Q(locked_until__isnull=True) | Q(locked_until__lte=now),
    )


@dataclass(frozen=True)
class Sender:
    """Whom a delivery's attempt counts against in the senders' concurrency limits."""

    owner_id: UUID
    endpoint_id: UUID | None


async def sender_of(delivery_id: UUID) -> Sender | None:
    """The owner and endpoint of a delivery that is pending, due and unheld; None otherwise."""
    now = utcnow()
    rows = await WebhookDelivery.filter(
        *_due_and_unheld(now, now), id=delivery_id, status=DeliveryStatus.PENDING
    ).values("owner_id", "endpoint_id")
    return Sender(rows[0]["owner_id"], rows[0]["endpoint_id"]) if rows else None


async def postpone(delivery_id: UUID, delay: timedelta) -> bool:
    """Make a pending, due, unheld delivery due `delay` from now, without counting an attempt
    (its endpoint or owner has as many in flight as allowed). Touching updated_at keeps the
    sweeper from sending it meanwhile. False when it is not such a delivery any more."""
    now = utcnow()
    postponed = await WebhookDelivery.filter(
        *_due_and_unheld(now, now), id=delivery_id, status=DeliveryStatus.PENDING
    ).update(next_attempt_at=now + delay, updated_at=now)
    return bool(postponed)


async def claim(delivery_id: UUID, lease: timedelta) -> Claimed | Refused | None:
    """Hold a pending, due, unheld delivery for `lease`, counting the attempt; None when it is
    not one (sent already, not due yet, held by another sender, or deleted), Refused when it
    must not be sent (its endpoint is disabled, or there is no secret to sign with). An
    endpoint's delivery goes to the endpoint's URL, signed with its secrets, as they are now; a
    callback_url's, signed with the owner's callback secrets as they are now."""
    now = utcnow()
    until = now + lease
    # Counted now, not when the attempt is recorded: an attempt whose sender is killed before
    # it can record anything still uses up one of the delivery's attempts.
    held = await WebhookDelivery.filter(
        *_due_and_unheld(now, now), id=delivery_id, status=DeliveryStatus.PENDING
    ).update(locked_until=until, attempts=F("attempts") + 1)
    if not held:
        return None
    rows = await WebhookDelivery.filter(id=delivery_id).values(
        "url", "msg_id", "payload", "attempts", "endpoint_id", "owner_id"
    )
    if not rows:
        return None
    row = rows[0]
    url: str = row["url"]
    secrets: tuple[str, ...] = ()
    if row["endpoint_id"] is not None:
        endpoint = await WebhookEndpoint.get_or_none(id=row["endpoint_id"])
        if endpoint is not None and endpoint.is_active:
            url = endpoint.url
            secrets = signing_secrets(
                endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until, now
            )
        refusal = ENDPOINT_DISABLED
    else:
        user = await User.get_or_none(id=row["owner_id"])
        if user is not None:
            secrets = signing_secrets(
                user.callback_secret,
                user.previous_callback_secret,
                user.previous_callback_secret_until,
                now,
            )
        refusal = "the account has no callback secret to sign with"
    if not secrets:
        return Refused(id=delivery_id, lease=until, reason=refusal)
    return Claimed(
        id=delivery_id,
        url=url,
        msg_id=row["msg_id"],
        payload=row["payload"],
        attempt=row["attempts"],
        lease=until,
        endpoint_id=row["endpoint_id"],
        secrets=secrets,
    )


@dataclass(frozen=True)
class AttemptRecord:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class Verdict:
    """What an attempt leads to: `status` pending (retry at `next_attempt_at`), succeeded or
    failed; `disable_endpoint`, a reason to disable the endpoint now (the receiver said 410)."""

    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    disable_endpoint: str | None = None


async def _held(conn: BaseDBAsyncClient, claimed: Claimed) -> WebhookDelivery | None:
    # A model query: Tortoise drops FOR UPDATE from `.exists()` and `.values_list()`.
    return await (
        WebhookDelivery.filter(
            id=claimed.id, status=DeliveryStatus.PENDING, locked_until=claimed.lease
        )
        .using_db(conn)
        .select_for_update()
        .only("id")
        .first()
    )


async def _after_final(
    conn: BaseDBAsyncClient, endpoint_id: UUID, succeeded: bool, disable_after: int, error: str
) -> None:
    """Count the endpoint's deliveries that failed in a row; disable it at `disable_after`."""
    if succeeded:
        await WebhookEndpoint.filter(id=endpoint_id).using_db(conn).update(failure_streak=0)
        return
    endpoint = (
        await WebhookEndpoint.filter(id=endpoint_id).using_db(conn).select_for_update().first()
    )
    if endpoint is None:
        return
    streak = endpoint.failure_streak + 1
    changes: dict[str, Any] = {"failure_streak": streak}
    if streak >= disable_after and endpoint.is_active:
        reason = f"{streak} deliveries in a row failed; the last: {error}"
        changes |= {"is_active": False, "disabled_reason": reason[:DISABLED_REASON_LENGTH]}
    await (
        WebhookEndpoint.filter(id=endpoint_id).using_db(conn).update(updated_at=utcnow(), **changes)
    )


async def record_attempt(
    claimed: Claimed, attempt: AttemptRecord, verdict: Verdict, disable_after: int
) -> bool:
    """Store the attempt and its consequence on the delivery and its endpoint, atomically.
    False (and nothing stored) when the lease was lost: the delivery was taken over,
    redelivered or deleted meanwhile."""
    now = utcnow()
    async with in_transaction() as conn:
        if await _held(conn, claimed) is None:
            return False
        # The log's own sequence, unique across rounds; an attempt that never got recorded
        # (its sender was killed) counts in `attempts` but has no entry.
        number = await WebhookAttempt.filter(delivery_id=claimed.id).using_db(conn).count() + 1
        await WebhookAttempt.create(
            delivery_id=claimed.id,
            number=number,
            url=claimed.url,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            status_code=attempt.status_code,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt,
            using_db=conn,
        )
        succeeded = verdict.status is DeliveryStatus.SUCCEEDED
        await (
            WebhookDelivery.filter(id=claimed.id)
            .using_db(conn)
            .update(
                # Where the last attempt went, the endpoint's URL having perhaps changed.
                url=claimed.url,
                status=verdict.status,
                next_attempt_at=verdict.next_attempt_at,
                locked_until=None,
                last_status_code=attempt.status_code,
                last_error=attempt.error,
                delivered_at=now if succeeded else None,
                updated_at=now,
            )
        )
        if claimed.endpoint_id is None:
            return True
        if verdict.disable_endpoint is not None:
            await (
                WebhookEndpoint.filter(id=claimed.endpoint_id)
                .using_db(conn)
                .update(is_active=False, disabled_reason=verdict.disable_endpoint, updated_at=now)
            )
        elif verdict.status is not DeliveryStatus.PENDING:
            await _after_final(
                conn, claimed.endpoint_id, succeeded, disable_after, attempt.error or ""
            )
    return True


async def abandon(refused: Refused) -> None:
    """Fail a held delivery without sending it."""
    await WebhookDelivery.filter(
        id=refused.id, status=DeliveryStatus.PENDING, locked_until=refused.lease
    ).update(
        status=DeliveryStatus.FAILED,
        # Nothing was sent: the claim's count is taken back.
        attempts=F("attempts") - 1,
        next_attempt_at=None,
        locked_until=None,
        last_error=refused.reason,
        updated_at=utcnow(),
    )


async def give_up_exhausted(
    grace: timedelta, limit: int, max_attempts: int, disable_after: int
) -> int:
    """Fail the pending deliveries, unheld and untouched for `grace`, that have used all
    `max_attempts` attempts: their last attempt never got recorded (its sender was killed), and
    sending them again could end the same way for ever. Returns how many."""
    now = utcnow()
    cutoff = now - grace
    async with in_transaction() as conn:
        exhausted = (
            await WebhookDelivery.filter(
                *_due_and_unheld(cutoff, now),
                status=DeliveryStatus.PENDING,
                updated_at__lt=cutoff,
                attempts__gte=max_attempts,
            )
            .using_db(conn)
            .limit(limit)
            .select_for_update(skip_locked=True)
            .only("id", "attempts", "endpoint_id")
        )
        for delivery in exhausted:
            error = f"gave up after {delivery.attempts} attempts; the last one never finished"
            await (
                WebhookDelivery.filter(id=delivery.id)
                .using_db(conn)
                .update(
                    status=DeliveryStatus.FAILED,
                    next_attempt_at=None,
                    locked_until=None,
                    last_error=error,
                    updated_at=now,
                )
            )
            endpoint_id: UUID | None = delivery.endpoint_id  # type: ignore[attr-defined]
            if endpoint_id is not None:
                await _after_final(conn, endpoint_id, False, disable_after, error)
    return len(exhausted)


async def due_for_sweep(grace: timedelta, limit: int, max_attempts: int) -> list[UUID]:
    """Pending deliveries that are due and unheld, past `grace`, with attempts left: their
    message was lost, or their sender died. Touching updated_at re-sends each at most once per
    `grace`."""
    now = utcnow()
    cutoff = now - grace
    async with in_transaction() as conn:
        due = (
            await WebhookDelivery.filter(
                *_due_and_unheld(cutoff, now),
                status=DeliveryStatus.PENDING,
                updated_at__lt=cutoff,
                attempts__lt=max_attempts,
            )
            .using_db(conn)
            .order_by("next_attempt_at")
            .limit(limit)
            .select_for_update(skip_locked=True)
            .only("id")
        )
        ids = [delivery.id for delivery in due]
        if ids:
            await WebhookDelivery.filter(id__in=ids).using_db(conn).update(updated_at=now)
    return ids


# --- listings and redelivery -----------------------------------------------------------------


async def deliveries_page(
    owner_id: UUID,
    endpoint_id: UUID,
    status: DeliveryStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[WebhookDelivery], int]:
    query = WebhookDelivery.filter(owner_id=owner_id, endpoint_id=endpoint_id)
    if status is not None:
        query = query.filter(status=status)
    total = await query.count()
    items = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
    return list(items), total


async def job_deliveries_page(
    owner_id: UUID, job_id: UUID, offset: int, limit: int
) -> tuple[list[WebhookDelivery], int]:
    query = WebhookDelivery.filter(owner_id=owner_id, job_id=job_id)
    total = await query.count()
    items = await query.order_by("created_at", "id").offset(offset).limit(limit)
    return list(items), total


async def get_delivery(owner_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
    return await WebhookDelivery.get_or_none(id=delivery_id, owner_id=owner_id)


async def attempt_log(delivery_id: UUID) -> list[WebhookAttempt]:
    return list(await WebhookAttempt.filter(delivery_id=delivery_id).order_by("number"))


async def redeliver(owner_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
    """Make the delivery pending and due now, with the same msg_id. A finished one starts a new
    round of attempts. None when it is not the owner's; ConflictError when its endpoint is
    disabled or an attempt is in flight."""
    now = utcnow()
    async with in_transaction() as conn:
        delivery = (
            await WebhookDelivery.filter(id=delivery_id, owner_id=owner_id)
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if delivery is None:
            return None
        # The sender records its attempt's outcome over whatever was set meanwhile, so a
        # redelivery now would be lost.
        if delivery.locked_until is not None and delivery.locked_until > now:
            raise ConflictError("an attempt at this delivery is in flight; try again in a moment")
        changes: dict[str, Any] = {"next_attempt_at": now, "updated_at": now}
        endpoint_id: UUID | None = delivery.endpoint_id  # type: ignore[attr-defined]
        if endpoint_id is not None:
            endpoint = (
                await WebhookEndpoint.filter(id=endpoint_id, is_active=True).using_db(conn).first()
            )
            if endpoint is None:
                raise ConflictError(
                    f"the webhook endpoint {endpoint_id} is disabled; re-enable it first "
                    f"(PATCH /api/v1/webhooks/{endpoint_id} with is_active true)"
                )
            # Shown as where it goes next; the sender reads the endpoint's URL again anyway.
            changes["url"] = endpoint.url
        if delivery.status is not DeliveryStatus.PENDING:
            changes |= {
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "locked_until": None,
                "delivered_at": None,
            }
        await WebhookDelivery.filter(id=delivery_id).using_db(conn).update(**changes)
        return await WebhookDelivery.filter(id=delivery_id).using_db(conn).first()
