"""The sender's decisions: backoff with jitter, Retry-After, and what each answer leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import get_args

import httpx

from api.webhooks.schemas import EventType
from shared.contracts import WEBHOOK_EVENT_TYPES
from shared.db.enums import DeliveryStatus
from shared.settings import Settings
from shared.webhooks.destinations import Destination
from worker.services.delivery import GONE, Answer, backoff_s, judge, parse_retry_after, pinned

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    webhook_backoff_base_s=5.0, webhook_backoff_max_s=3600.0, webhook_max_attempts=4
)


def test_backoff_grows_fourfold_up_to_the_cap_with_equal_jitter() -> None:
    low = [backoff_s(n, 5.0, 3600.0, rand=lambda: 0.0) for n in range(1, 8)]
    high = [backoff_s(n, 5.0, 3600.0, rand=lambda: 1.0) for n in range(1, 8)]
    assert high == [5.0, 20.0, 80.0, 320.0, 1280.0, 3600.0, 3600.0]
    assert low == [h / 2 for h in high]
    assert 2.5 <= backoff_s(1, 5.0, 3600.0) <= 5.0


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 7 ", NOW) == 7.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", NOW) == 0.0  # in the past
    for unreadable in (None, "", "soon", "-5", "1.5e3"):
        assert parse_retry_after(unreadable, NOW) is None


def _next_in(answer: Answer, attempt: int = 1) -> float:
    verdict, _ = judge(answer, attempt, SETTINGS, NOW)
    assert verdict.status is DeliveryStatus.PENDING
    assert verdict.next_attempt_at is not None
    return (verdict.next_attempt_at - NOW).total_seconds()


def test_success_and_final_failures() -> None:
    for code in (200, 201, 204, 299):
        verdict, error = judge(Answer(status_code=code), 1, SETTINGS, NOW)
        assert (verdict.status, error) == (DeliveryStatus.SUCCEEDED, None)

    verdict, error = judge(
        Answer(status_code=302, location="https://elsewhere.example/x"), 1, SETTINGS, NOW
    )
    assert verdict.status is DeliveryStatus.FAILED
    assert error == "redirect (302) to https://elsewhere.example/x not followed"
    assert judge(Answer(status_code=301), 1, SETTINGS, NOW)[1] == (
        "redirect (301) without a Location header not followed"
    )

    verdict, error = judge(Answer(status_code=410, reason="Gone"), 1, SETTINGS, NOW)
    assert (verdict.status, verdict.disable_endpoint, error) == (DeliveryStatus.FAILED, GONE, GONE)

    for code in (400, 401, 403, 404, 408, 413, 422):
        verdict, error = judge(Answer(status_code=code, reason="Nope"), 1, SETTINGS, NOW)
        assert verdict.status is DeliveryStatus.FAILED, code
        assert verdict.disable_endpoint is None
        assert error == f"the receiver answered {code} Nope"

    verdict, error = judge(Answer(error="destination refused: 10.0.0.1 is ..."), 1, SETTINGS, NOW)
    assert verdict.status is DeliveryStatus.FAILED
    assert error == "destination refused: 10.0.0.1 is ..."


def test_server_errors_throttling_and_network_failures_are_retried() -> None:
    for answer in (
        Answer(status_code=500, reason="Internal Server Error"),
        Answer(status_code=503),
        Answer(status_code=429, reason="Too Many Requests"),
        Answer(error="no answer within 10s", retryable=True),
        Answer(error="connection failed: refused", retryable=True),
    ):
        assert 2.5 <= _next_in(answer, attempt=1) <= 5.0
        assert 10.0 <= _next_in(answer, attempt=2) <= 20.0
    _, error = judge(Answer(status_code=500, reason="Internal Server Error"), 1, SETTINGS, NOW)
    assert error == "the receiver answered 500 Internal Server Error"


def test_the_last_attempt_fails_for_good() -> None:
    verdict, error = judge(Answer(status_code=503, reason="Busy"), 4, SETTINGS, NOW)
    assert verdict.status is DeliveryStatus.FAILED
    assert verdict.next_attempt_at is None
    assert error == "the receiver answered 503 Busy; gave up after 4 attempts"


def test_retry_after_is_honoured_when_longer_and_capped() -> None:
    assert _next_in(Answer(status_code=429, retry_after="600")) == 600.0
    assert _next_in(Answer(status_code=503, retry_after="99999")) == 3600.0
    # Shorter than the backoff: the backoff stands.
    assert 2.5 <= _next_in(Answer(status_code=429, retry_after="1")) <= 5.0
    date = format_datetime(NOW + timedelta(seconds=300), usegmt=True)
    assert _next_in(Answer(status_code=503, retry_after=date)) == 300.0


def test_the_api_schema_lists_every_event_type() -> None:
    assert get_args(EventType) == WEBHOOK_EVENT_TYPES


def test_requests_go_to_the_checked_address_under_the_original_name() -> None:
    http = Destination(
        "http://hooks.example:8080/in?x=1", "http", "hooks.example", 8080, ("1.2.3.4",)
    )
    url, headers, extensions = pinned(http)
    assert (str(url), headers, extensions) == (
        "http://1.2.3.4:8080/in?x=1",
        {"host": "hooks.example:8080"},
        {},
    )
    https = Destination("https://hooks.example/in", "https", "hooks.example", 443, ("2001:db8::1",))
    url, headers, extensions = pinned(https)
    assert (str(url), headers, extensions) == (
        "https://[2001:db8::1]/in",
        {"host": "hooks.example"},
        {"sni_hostname": "hooks.example"},
    )
    # An allowed host name is not pinned: the request resolves it itself.
    named = Destination("https://hooks.internal/in", "https", "hooks.internal", 443, ())
    assert pinned(named) == (httpx.URL("https://hooks.internal/in"), {}, {})
