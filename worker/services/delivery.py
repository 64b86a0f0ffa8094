"""Sends webhook deliveries: claim one, check its destination again, POST the signed payload,
record the attempt and what follows from it (done, retry later, failed, endpoint disabled).

At-least-once: the outbox row is the record. A delivery is held under a lease while it is sent,
so a duplicate message or the sweeper cannot send it twice at once; a retry is both scheduled as
a delayed message and found by the sweeper if that message is lost. An attempt counts from the
moment it is claimed, so one that never gets recorded still uses up the delivery's attempts.
Database calls go through the process's event loop (`run`); the HTTP request runs on a loop of
its own, under a deadline for the whole request.

Fairness: an attempt first takes a slot under its endpoint's and its owner's limits (Redis, across
every sender); without one, the delivery is postponed, uncounted, and tried again shortly.

What a destination the operator's allow-list opened (a private one) answers is never kept: only
its status code, the duration and the kind of error, so the webhooks cannot be used to read
internal services."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import httpx
import redis
from billiard.exceptions import SoftTimeLimitExceeded
from tortoise.timezone import now as utcnow

from shared import metrics
from shared.db.enums import DeliveryStatus
from shared.enqueue import enqueue_deliveries, enqueue_delivery
from shared.errors import UnprocessableError
from shared.repositories import webhooks as repo
from shared.repositories.webhooks import AttemptRecord, Claimed, Refused, Sender, Verdict
from shared.settings import Settings, get_settings
from shared.webhooks import slots
from shared.webhooks.destinations import (
    Destination,
    UnresolvableHostError,
    parse_allow_list,
    resolve_destination,
)
from shared.webhooks.signing import body_bytes, signed_headers
from worker.runtime import run

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 1024
MAX_ERROR_LENGTH = 1000
# Longer waits are left to the sweeper: a delayed message sits in a worker's memory until due.
MAX_COUNTDOWN_S = 15 * 60
SWEEP_BATCH = 500
GONE = "the receiver answered 410 Gone"
INTERNAL_ERROR = "the sender stopped on an internal error; the operators have the details"
# What a sender keeps after its soft time limit to record the attempt before the hard one.
RECORD_GRACE_S = 10.0
# A request's budget in timeouts: connecting, sending and waiting for the answer.
PHASES = 3
# The first wait of a delivery that found no free slot; it grows with each one in a row, up to a
# request's budget (by then an attempt in flight has ended).
DEFER_BASE_S = 0.25

Target = tuple[httpx.URL, dict[str, str], dict[str, Any]]


def request_budget_s(settings: Settings) -> float:
    """The longest one request may take, addresses and phases together: httpx's timeout holds
    for each phase only, and a receiver trickling its answer a byte at a time meets none."""
    return min(PHASES * settings.webhook_timeout_s, settings.webhook_deadline_s)


def lease(settings: Settings) -> timedelta:
    """How long a sender holds a delivery (the task's hard time limit): the request's budget,
    plus time for name resolution and the database."""
    return timedelta(seconds=request_budget_s(settings) + settings.webhook_timeout_s + 30)


def soft_time_limit_s(settings: Settings) -> float:
    """When the task is interrupted, early enough to record the attempt before the lease ends."""
    return lease(settings).total_seconds() - RECORD_GRACE_S


@dataclass(frozen=True)
class Answer:
    """What came of one request: the receiver's status, or why there was none."""

    status_code: int | None = None
    reason: str = ""
    location: str | None = None
    retry_after: str | None = None
    excerpt: str | None = None
    # Set when no response came: the destination was refused, or the request failed.
    error: str | None = None
    retryable: bool = False


def backoff_s(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before the attempt after `attempt` (1-based): base·4^(attempt-1) capped at `cap`,
    with equal jitter (half of it fixed, half random) so receivers that failed together are not
    all retried at the same instant."""
    delay = min(cap, base * 4.0 ** (attempt - 1))
    return delay / 2 + rand() * delay / 2


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP-date) as seconds from `now`; None when
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    # HTTP allows ASCII digits only; isdigit() alone also passes "²", which float() cannot read.
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _retry_delay(answer: Answer, attempt: int, settings: Settings, now: datetime) -> float:
    delay = backoff_s(attempt, settings.webhook_backoff_base_s, settings.webhook_backoff_max_s)
    asked = parse_retry_after(answer.retry_after, now)
    if asked is not None and asked > delay:
        delay = min(asked, settings.webhook_backoff_max_s)
    return delay


def judge(
    answer: Answer, attempt: int, settings: Settings, now: datetime
) -> tuple[Verdict, str | None]:
    """The delivery's next state after `answer` to its `attempt`-th attempt, and the error to
    record for the attempt (None for a success)."""
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        return Verdict(DeliveryStatus.SUCCEEDED), None
    if code is not None and 300 <= code < 400:
        where = f" to {answer.location}" if answer.location else ""
        return Verdict(DeliveryStatus.FAILED), f"redirect ({code}){where} not followed"
    if code == 410:
        return Verdict(DeliveryStatus.FAILED, disable_endpoint=GONE), GONE
    if code is not None:
        error = f"the receiver answered {code} {answer.reason}".rstrip()
        retryable = code == 429 or code >= 500
    else:
        error = answer.error or "no response"
        retryable = answer.retryable
    if not retryable:
        return Verdict(DeliveryStatus.FAILED), error
    if attempt >= settings.webhook_max_attempts:
        return Verdict(DeliveryStatus.FAILED), f"{error}; gave up after {attempt} attempts"
    delay = _retry_delay(answer, attempt, settings, now)
    return Verdict(DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay)), error


def pinned(destination: Destination) -> list[Target]:
    """The request aimed at each address the guard checked, to try in turn, with the original
    Host header and, for HTTPS, the original name for SNI and certificate checks."""
    url = httpx.URL(destination.url)
    if not destination.addresses:
        return [(url, {}, {})]
    host_header = {"host": url.netloc.decode()}
    extensions = {"sni_hostname": destination.host} if destination.scheme == "https" else {}
    return [
        (url.copy_with(host=address), host_header, extensions) for address in destination.addresses
    ]


async def _excerpt(response: httpx.Response, deadline: float) -> str | None:
    data = b""
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) >= EXCERPT_BYTES:
                    break
    except (httpx.HTTPError, TimeoutError):
        pass  # the status is the answer; a body cut short or too slow only shortens the excerpt
    # Postgres text cannot hold NUL.
    return data[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "") or None


async def _request(
    client: httpx.AsyncClient,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    private: bool,
) -> Answer:
    url, host_header, extensions = target
    request = client.build_request(
        "POST", url, content=body, headers=headers | host_header, extensions=extensions
    )
    async with asyncio.timeout_at(deadline):
        response = await client.send(request, stream=True)
    try:
        if private:
            # The status alone: the body, reason phrase and Location are the service's words.
            return Answer(
                status_code=response.status_code,
                retry_after=response.headers.get("retry-after"),
            )
        return Answer(
            status_code=response.status_code,
            reason=response.reason_phrase,
            location=response.headers.get("location"),
            retry_after=response.headers.get("retry-after"),
            excerpt=await _excerpt(response, deadline),
        )
    finally:
        await response.aclose()


async def _post(
    destination: Destination,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    budget: float,
) -> Answer:
    private = destination.private
    deadline = asyncio.get_running_loop().time() + budget
    *others, last = pinned(destination)
    try:
        # trust_env=False: proxy variables must not route webhooks around the address checks.
        async with httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False
        ) as client:
            for target in others:
                try:
                    return await _request(client, target, body, headers, deadline, private)
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    continue  # nothing reached the receiver: another of its addresses may answer
            return await _request(client, last, body, headers, deadline, private)
    except TimeoutError:
        return Answer(error=f"no complete answer within {budget:g}s", retryable=True)
    except httpx.TimeoutException:
        return Answer(error=f"no answer within {timeout_s:g}s", retryable=True)
    except httpx.HTTPError as exc:
        cause = _root_cause(exc)
        # A protocol error quotes what the service sent: only its kind, for a private one.
        shown = type(cause).__name__ if private else str(cause) or type(cause).__name__
        return Answer(error=f"connection failed: {shown}", retryable=True)


def _root_cause(exc: BaseException) -> BaseException:
    # The async client's "All connection attempts failed" says nothing of why they did.
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def post(
    destination: Destination,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    budget_s: float,
) -> Answer:
    """POST `body` to the first of the destination's addresses that takes the connection, each
    phase within `timeout_s` and the whole within `budget_s`; never raises for the receiver's
    faults."""
    # A loop of its own, created and closed here: a request interrupted by the task's time
    # limit leaves nothing running on the database loop, and no loop is set as the thread's.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        return runner.run(_post(destination, body, headers, timeout_s, budget_s))


def send(claimed: Claimed, settings: Settings) -> Answer:
    """One signed POST of the delivery's payload; never raises for the receiver's faults."""
    allowed = parse_allow_list(settings.webhook_allowed_networks, settings.webhook_public_ports)
    try:
        destination = resolve_destination(claimed.url, allowed)
    except UnresolvableHostError as exc:
        return Answer(error=exc.detail, retryable=True)
    except UnprocessableError as exc:
        return Answer(error=f"destination refused: {exc.detail}")
    body = body_bytes(claimed.payload)
    headers = signed_headers(claimed.secrets, claimed.msg_id, int(time.time()), body)
    return post(destination, body, headers, settings.webhook_timeout_s, request_budget_s(settings))


def _redis() -> redis.Redis:
    return _redis_client(get_settings().redis_url)


@lru_cache(maxsize=1)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def _take_slot(delivery_id: UUID, sender: Sender, settings: Settings) -> slots.Slot | None:
    """A slot under the owner's and the endpoint's limits; None when either is reached. Without
    Redis the limits are not enforced (with a warning) rather than stopping every webhook."""
    wanted = slots.limits(
        sender.owner_id,
        sender.endpoint_id,
        settings.webhook_owner_concurrency,
        settings.webhook_endpoint_concurrency,
    )
    try:
        slot = slots.acquire(_redis(), wanted, lease(settings).total_seconds())
        if slot is not None:
            slots.forget_deferrals(_redis(), delivery_id)
    except redis.RedisError as exc:
        logger.warning("webhook delivery %s: concurrency limits not enforced: %s", delivery_id, exc)
        return slots.Slot((), "")
    return slot


def _give_back(slot: slots.Slot) -> None:
    if not slot.keys:
        return
    try:
        slots.release(_redis(), slot)
    except redis.RedisError as exc:
        # It lapses by itself at the end of its lease.
        logger.warning("webhook sender slot not released: %s", exc)


def _defer(delivery_id: UUID, settings: Settings) -> None:
    """Try again later, sooner the first times: an attempt in flight usually ends quickly."""
    try:
        times = slots.count_deferral(_redis(), delivery_id, lease(settings).total_seconds())
    except redis.RedisError:
        times = 1
    delay = backoff_s(min(times, 16), DEFER_BASE_S, request_budget_s(settings))
    if run(repo.postpone(delivery_id, timedelta(seconds=delay))):
        logger.debug("webhook delivery %s: no free slot; again in %.1fs", delivery_id, delay)
        enqueue_delivery(delivery_id, countdown=delay)


def deliver(delivery_id: UUID) -> None:
    """Make one attempt at a delivery if it is pending, due and not held by another sender, and
    neither its endpoint nor its owner has as many attempts in flight as allowed."""
    settings = get_settings()
    sender = run(repo.sender_of(delivery_id))
    if sender is None:
        logger.debug("webhook delivery %s: not due or held elsewhere; skipped", delivery_id)
        return
    slot = _take_slot(delivery_id, sender, settings)
    if slot is None:
        _defer(delivery_id, settings)
        return
    try:
        _attempt(delivery_id, settings)
    finally:
        _give_back(slot)


def _attempt(delivery_id: UUID, settings: Settings) -> None:
    claimed = run(repo.claim(delivery_id, lease(settings)))
    if claimed is None:
        logger.debug("webhook delivery %s: not due or held elsewhere; skipped", delivery_id)
        return
    if isinstance(claimed, Refused):
        run(repo.abandon(claimed))
        logger.info("webhook delivery %s: failed unsent: %s", delivery_id, claimed.reason)
        return
    started_at = utcnow()
    started = time.monotonic()
    try:
        answer = send(claimed, settings)
    except SoftTimeLimitExceeded:
        limit = soft_time_limit_s(settings)
        answer = Answer(error=f"stopped at the sender's {limit:g}s time limit", retryable=True)
    except Exception:
        # Broad on purpose, as at a task's top level: whatever went wrong, the attempt is
        # recorded as failed, so the delivery is retried within its attempts instead of being
        # re-sent unrecorded for ever.
        logger.exception("webhook delivery %s: attempt %d failed", delivery_id, claimed.attempt)
        answer = Answer(error=INTERNAL_ERROR, retryable=True)
    _conclude(claimed, answer, started_at, round((time.monotonic() - started) * 1000), settings)


def _conclude(
    claimed: Claimed, answer: Answer, started_at: datetime, duration_ms: int, settings: Settings
) -> None:
    """Record the attempt and what follows from it; schedule the retry, if any."""
    delivery_id = claimed.id
    verdict, error = judge(answer, claimed.attempt, settings, utcnow())
    attempt = AttemptRecord(
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=answer.status_code,
        error=error[:MAX_ERROR_LENGTH] if error else None,
        response_excerpt=answer.excerpt,
    )
    if not run(repo.record_attempt(claimed, attempt, verdict, settings.webhook_disable_after)):
        logger.info("webhook delivery %s: lease lost; attempt not recorded", delivery_id)
        return
    outcome = "retry" if verdict.status is DeliveryStatus.PENDING else verdict.status.value
    metrics.record_webhook_attempt(outcome)
    logger.info(
        "webhook delivery %s attempt %d: %s%s",
        delivery_id,
        claimed.attempt,
        outcome,
        f" ({error})" if error else "",
    )
    if verdict.next_attempt_at is not None:
        countdown = (verdict.next_attempt_at - utcnow()).total_seconds()
        if countdown <= MAX_COUNTDOWN_S:
            enqueue_delivery(delivery_id, countdown=max(0.0, countdown))


def sweep() -> int:
    """Re-send deliveries that are due but were not sent: a lost message, a dead sender, a
    retry left to the sweeper; fail those whose attempts are used up. Returns how many were
    re-sent."""
    settings = get_settings()
    grace = timedelta(seconds=settings.requeue_after_s)
    max_attempts = settings.webhook_max_attempts
    gave_up = run(
        repo.give_up_exhausted(grace, SWEEP_BATCH, max_attempts, settings.webhook_disable_after)
    )
    if gave_up:
        logger.warning("webhook sweep: failed %d delivery(ies) out of attempts", gave_up)
    due = run(repo.due_for_sweep(grace, SWEEP_BATCH, max_attempts))
    enqueue_deliveries(due)
    if due:
        logger.info("webhook sweep: re-sent %d delivery(ies)", len(due))
    return len(due)
