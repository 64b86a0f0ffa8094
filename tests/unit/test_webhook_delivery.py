"""The sender's decisions: backoff with jitter, Retry-After, and what each answer leads to; and
its requests, to real servers on loopback."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import get_args

import httpx
import pytest

from api.webhooks.schemas import EventType
from shared.contracts import WEBHOOK_EVENT_TYPES
from shared.db.enums import DeliveryStatus
from shared.settings import Settings
from shared.webhooks.destinations import Destination
from worker.services.delivery import (
    GONE,
    Answer,
    backoff_s,
    judge,
    lease,
    parse_retry_after,
    pinned,
    post,
    request_budget_s,
    soft_time_limit_s,
)

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
    for unreadable in (None, "", "soon", "-5", "1.5e3", "²", "\uff11\uff12"):
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
    assert judge(Answer(status_code=301), 1, SETTINGS, NOW)[1] == "redirect (301) not followed"

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
    ((url, headers, extensions),) = pinned(http)
    assert (str(url), headers, extensions) == (
        "http://1.2.3.4:8080/in?x=1",
        {"host": "hooks.example:8080"},
        {},
    )
    https = Destination(
        "https://hooks.example/in", "https", "hooks.example", 443, ("2001:db8::1", "1.2.3.4")
    )
    assert [(str(url), headers, extensions) for url, headers, extensions in pinned(https)] == [
        ("https://[2001:db8::1]/in", {"host": "hooks.example"}, {"sni_hostname": "hooks.example"}),
        ("https://1.2.3.4/in", {"host": "hooks.example"}, {"sni_hostname": "hooks.example"}),
    ]
    # An allowed host name is not pinned: the request resolves it itself.
    named = Destination("https://hooks.internal/in", "https", "hooks.internal", 443, ())
    assert pinned(named) == [(httpx.URL("https://hooks.internal/in"), {}, {})]


def test_the_request_budget_ends_before_the_soft_limit_and_that_before_the_lease() -> None:
    settings = Settings(webhook_timeout_s=10.0)
    # F-17: a receiver answering just in time holds a sender 15 s at most, not 3 x 10 s.
    assert request_budget_s(settings) == 15.0
    assert request_budget_s(Settings(webhook_timeout_s=2.0)) == 6.0
    assert request_budget_s(settings) < soft_time_limit_s(settings)
    assert soft_time_limit_s(settings) < lease(settings).total_seconds()


BODY = b'{"type": "job.completed"}'
# Answers one request (its bytes as received) on the connection.
Answering = Callable[[socket.socket, bytes], None]


@pytest.fixture
def server() -> Iterator[Callable[[Answering], int]]:
    """A TCP server on 127.0.0.1 that answers each request with a function; its port."""
    listeners: list[socket.socket] = []

    def start(answering: Answering) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=_serve_one, args=(conn, answering), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        port: int = listener.getsockname()[1]
        return port

    yield start
    for listener in listeners:
        listener.close()


def _serve_one(conn: socket.socket, answering: Answering) -> None:
    with conn:
        request = b""
        while not request.endswith(BODY):
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        with contextlib.suppress(OSError):  # the sender hung up
            answering(conn, request)


def _trickle(data: bytes) -> Answering:
    """Send `data`, then a byte every 50 ms for far longer than the request may take."""

    def answering(conn: socket.socket, request: bytes) -> None:
        conn.sendall(data)
        for _ in range(400):
            conn.sendall(b"x")
            time.sleep(0.05)

    return answering


def _post(port: int, *addresses: str, private: bool = False) -> Answer:
    destination = Destination(
        f"http://hooks.example:{port}/in", "http", "hooks.example", port, addresses, private
    )
    return post(destination, BODY, {"content-type": "application/json"}, 0.3, budget_s=0.9)


def test_an_answer_trickling_in_is_cut_off_at_the_request_budget(
    server: Callable[[Answering], int],
) -> None:
    # Each byte comes well within the 0.3 s per-phase timeout; the whole answer never does.
    port = server(_trickle(b"HTTP/1.1 200 OK\r\nx-slow: "))
    answer = _post(port, "127.0.0.1")
    assert (answer.status_code, answer.error, answer.retryable) == (
        None,
        "no complete answer within 0.9s",
        True,
    )
    # Once the status has come, a body too slow to read only shortens the excerpt.
    port = server(_trickle(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nthanks"))
    answer = _post(port, "127.0.0.1")
    assert answer.status_code == 200
    assert answer.excerpt is not None
    assert answer.excerpt.startswith("thanks")


def test_each_checked_address_is_tried_until_one_takes_the_connection(
    server: Callable[[Answering], int],
) -> None:
    requests: list[bytes] = []

    def answering(conn: socket.socket, request: bytes) -> None:
        requests.append(request)
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    port = server(answering)
    # The server listens on 127.0.0.1 only: 127.0.0.2 and 127.0.0.3 refuse the connection.
    answer = _post(port, "127.0.0.2", "127.0.0.3", "127.0.0.1")
    assert (answer.status_code, answer.error) == (204, None)
    (request,) = requests
    assert f"\r\nhost: hooks.example:{port}\r\n".encode() in request.lower()
    answer = _post(port, "127.0.0.2", "127.0.0.3")
    assert (answer.status_code, answer.retryable) == (None, True)
    assert answer.error is not None
    assert answer.error.startswith("connection failed: ")
    assert len(requests) == 1


def test_an_http_answer_is_not_tried_elsewhere(server: Callable[[Answering], int]) -> None:
    requests: list[bytes] = []

    def answering(conn: socket.socket, request: bytes) -> None:
        requests.append(request)
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")

    port = server(answering)
    assert _post(port, "127.0.0.1", "127.0.0.1").status_code == 503
    assert len(requests) == 1


def test_a_private_destination_s_answer_is_not_kept(server: Callable[[Answering], int]) -> None:
    """F-07: what a service the allow-list opened says is not read back: its status only, not
    its body, reason phrase or Location, nor what a protocol error quotes of it."""

    def answering(conn: socket.socket, request: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 302 db-password=hunter2\r\nlocation: http://x/?db-password=hunter2\r\n"
            b'content-length: 25\r\n\r\n{"internal": "hunter2"}\r\n'
        )

    port = server(answering)
    public = _post(port, "127.0.0.1")
    assert public.excerpt is not None
    assert "hunter2" in public.excerpt
    private = _post(port, "127.0.0.1", private=True)
    assert (private.status_code, private.reason, private.location, private.excerpt) == (
        302,
        "",
        None,
        None,
    )
    assert judge(private, 1, SETTINGS, NOW)[1] == "redirect (302) not followed"

    def not_http(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"-ERR unknown command 'POST', db-password=hunter2\r\n\r\n")

    port = server(not_http)
    assert "hunter2" in (_post(port, "127.0.0.1").error or "")
    hidden = _post(port, "127.0.0.1", private=True)
    assert hidden.error == "connection failed: RemoteProtocolError"
