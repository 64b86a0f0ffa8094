"""Webhooks end to end: real jobs, the real webhook worker and real HTTP receivers on loopback
(the test stack allows 127.0.0.0/8 on port 9 and ports 1024-65535, and nothing else that is not
public; one attempt at a time per endpoint)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import redis
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from tortoise import Tortoise
from tortoise.timezone import now as utcnow

from shared.contracts import WEBHOOK_QUEUE
from shared.db.config import tortoise_config
from shared.db.enums import DeliveryStatus
from shared.ops.localstack import LocalStack
from shared.repositories import webhooks as repo
from shared.settings import get_settings
from tests.conftest import TEST_ENV
from tests.integration.conftest import db_fetch, signup_and_signin, wait_for
from tests.media import BUS, PEDESTRIANS, PLATE_PNG, mp4_without_video

Reply = tuple[int, dict[str, str], bytes]
# A scripted answer, or a function that answers on the handler itself.
Step = Reply | Callable[[BaseHTTPRequestHandler], None]
OK: Reply = (200, {}, b"thanks")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def verified(self, secret: str) -> dict[str, Any]:
        """The payload, once the reference library has checked its signature."""
        payload: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return payload


@dataclass
class Receiver:
    """An HTTP server in a thread that records every request and answers from a script (then
    200 OK)."""

    script: list[Step] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    step = receiver.script.pop(0) if receiver.script else OK
                if callable(step):
                    step(self)
                    return
                status, headers, reply = step
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout_s: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.requests)} request(s) received, expected {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(*script: Step) -> Receiver:
        made.append(Receiver(list(script)))
        return made[-1]

    yield make
    for each in made:
        each.close()


def _answer(status: int, reason: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """An empty answer with its own reason phrase."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status, reason)
        handler.send_header("content-length", "0")
        handler.end_headers()

    return answer


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    """An answer that never completes: a byte every half second, each well within the per-phase
    timeout (2 s in the tests), for longer than any request may take."""
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nx-slow: ")
    try:
        for _ in range(120):
            handler.wfile.write(b"x")
            time.sleep(0.5)
    except OSError:
        pass  # the sender hung up


def _outbox_row(
    client: httpx.Client,
    headers: dict[str, str],
    endpoint: dict[str, Any] | None,
    url: str,
    attempts: int = 0,
) -> uuid.UUID:
    """A pending delivery to `endpoint` (to the callback URL `url` when None) written straight
    into the outbox, due, untouched and its last lease (if any) over a minute ago: the sweeper
    sends it."""
    delivery_id = uuid.uuid4()
    db_fetch(
        "INSERT INTO webhook_deliveries (id, owner_id, endpoint_id, url, event_type, msg_id, "
        "payload, status, attempts, next_attempt_at, locked_until, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, 'job.completed', $5, '{\"type\": \"job.completed\"}', "
        "'pending', $6, now() - interval '1 minute', CASE WHEN $6 > 0 THEN now() - interval "
        "'1 minute' END, now() - interval '1 minute', now() - interval '1 minute')",
        delivery_id,
        uuid.UUID(client.get("/me", headers=headers).json()["id"]),
        uuid.UUID(endpoint["id"]) if endpoint else None,
        url,
        f"msg_{uuid.uuid4().hex}",
        attempts,
    )
    return delivery_id


def _set_endpoint_url(endpoint: dict[str, Any], url: str) -> None:
    db_fetch("UPDATE webhook_endpoints SET url = $1 WHERE id = $2", url, uuid.UUID(endpoint["id"]))


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def _endpoint(
    client: httpx.Client, headers: dict[str, str], url: str, *event_types: str
) -> dict[str, Any]:
    response = client.post(
        "/webhooks",
        json={"url": url, "event_types": list(event_types or ["job.completed"])},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _image_job(
    client: httpx.Client, headers: dict[str, str], callback_url: str | None = None
) -> str:
    data = {"callback_url": callback_url} if callback_url else {}
    with BUS.open("rb") as handle:
        response = client.post(
            "/process/image", files={"file": ("bus.jpg", handle)}, data=data, headers=headers
        )
    assert response.status_code in (200, 202), response.text
    job_id = str(response.json()["job_id"])
    assert wait_for(client, job_id, headers)["status"] == "completed"
    return job_id


def _job_delivery(
    client: httpx.Client, headers: dict[str, str], job_id: str, endpoint_id: str | None = None
) -> dict[str, Any]:
    """The job's one job.completed delivery (to `endpoint_id`, when given)."""
    listed = client.get(f"/jobs/{job_id}/deliveries", headers=headers)
    assert listed.status_code == 200, listed.text
    (delivery,) = [
        d
        for d in listed.json()["items"]
        if d["event_type"] == "job.completed" and endpoint_id in (None, d["endpoint_id"])
    ]
    return dict(delivery)


def _settled(
    client: httpx.Client, headers: dict[str, str], delivery_id: str, timeout_s: float = 30
) -> dict[str, Any]:
    """Poll a delivery until it is no longer pending."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        detail = client.get(f"/webhook-deliveries/{delivery_id}", headers=headers).json()
        if detail["status"] != "pending":
            return dict(detail)
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery_id} still pending after {timeout_s}s: {detail}")


def test_job_completed_reaches_an_endpoint_signed(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    assert endpoint["secret"].startswith("whsec_")
    job_id = _image_job(client, auth)

    (request,) = hook.wait_for(1)
    payload = request.verified(endpoint["secret"])
    assert payload["type"] == "job.completed"
    data = payload["data"]
    assert data["job_id"] == job_id
    assert (data["kind"], data["status"], data["filename"], data["error"]) == (
        "image",
        "completed",
        "bus.jpg",
        None,
    )
    assert data["summary"]["class_counts"]["person"] >= 3
    assert data["status_url"] == f"/api/v1/jobs/{job_id}/status"
    assert data["results_url"] == f"/api/v1/jobs/{job_id}/results"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Vigil-Webhooks/0.1"
    assert request.headers["webhook-id"].startswith("msg_")

    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["msg_id"] == request.headers["webhook-id"]
    assert (delivery["endpoint_id"], delivery["job_id"]) == (endpoint["id"], job_id)
    assert delivery["payload"] == payload
    assert delivery["attempts"] == 1
    assert delivery["delivered_at"]
    (attempt,) = delivery["attempt_log"]
    assert (attempt["number"], attempt["status_code"], attempt["error"]) == (1, 200, None)
    assert attempt["url"] == hook.url
    # The receiver answered "thanks", but it is on a network the operator allowed.
    assert attempt["response_excerpt"] is None
    listed = client.get(f"/webhooks/{endpoint['id']}/deliveries", headers=auth).json()
    assert (listed["total"], listed["items"][0]["id"]) == (1, delivery["id"])
    assert len(hook.requests) == 1


def test_server_errors_are_retried_with_the_same_id(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    failing: Reply = (500, {}, b"database is down")
    hook = receiver(failing, failing, failing)
    endpoint = _endpoint(client, auth, hook.url)
    job_id = _image_job(client, auth)

    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert delivery["status"] == "succeeded", delivery
    requests = hook.wait_for(4)
    assert len(requests) == 4
    assert {r.headers["webhook-id"] for r in requests} == {delivery["msg_id"]}
    assert {r.body for r in requests} == {requests[0].body}
    for request in requests:
        assert request.verified(endpoint["secret"])["data"]["job_id"] == job_id
    assert delivery["attempts"] == 4
    log = delivery["attempt_log"]
    assert [a["number"] for a in log] == [1, 2, 3, 4]
    assert [a["status_code"] for a in log] == [500, 500, 500, 200]
    assert log[0]["error"] == "the receiver answered 500"
    assert log[0]["response_excerpt"] is None
    assert client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()["is_active"]


def test_redirects_are_not_followed(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    target = receiver()
    hook = receiver((302, {"Location": target.url}, b""))
    _endpoint(client, auth, hook.url)
    job_id = _image_job(client, auth)

    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert delivery["status"] == "failed"
    # Where a private receiver redirects to is its own business: not shown.
    assert delivery["last_error"] == "redirect (302) not followed"
    assert delivery["last_status_code"] == 302
    assert delivery["attempts"] == 1
    assert len(hook.requests) == 1
    assert target.requests == []


PRIVATE_URLS = (
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1/hook",
    "http://[::1]:8080/hook",  # loopback, but the stack allows 127.0.0.0/8 only
    "http://[::ffff:10.0.0.1]/hook",
    "http://100.64.0.1/hook",
    "ftp://127.0.0.1/hook",
    "http://user:secret@127.0.0.1/hook",
    "http://no-such-host.invalid/hook",
)


def test_private_destinations_are_refused_at_registration(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    for url in PRIVATE_URLS:
        response = client.post(
            "/webhooks", json={"url": url, "event_types": ["job.completed"]}, headers=auth
        )
        assert response.status_code == 422, (url, response.text)
        body = response.json()
        assert body["error"] == "unprocessable"
        assert body["fields"][0]["field"] == "url"
        assert body["detail"].startswith("url: ")
    refused = client.post(
        "/webhooks", json={"url": PRIVATE_URLS[1], "event_types": ["job.failed"]}, headers=auth
    ).json()
    assert "the cloud metadata address" in refused["detail"]
    assert client.get("/webhooks", headers=auth).json() == {"items": [], "total": 0}
    allowed = _endpoint(client, auth, "http://127.0.0.1:9/hook")
    patched = client.patch(
        f"/webhooks/{allowed['id']}", json={"url": "http://10.0.0.1/"}, headers=auth
    )
    assert patched.status_code == 422
    assert client.get(f"/webhooks/{allowed['id']}", headers=auth).json()["url"] == (
        "http://127.0.0.1:9/hook"
    )


def test_private_callback_urls_are_refused(client: httpx.Client, auth: dict[str, str]) -> None:
    def submit(callback_url: str) -> httpx.Response:
        with BUS.open("rb") as handle:
            return client.post(
                "/process/image",
                files={"file": ("bus.jpg", handle)},
                data={"callback_url": callback_url},
                headers=auth,
            )

    no_secret = submit("http://127.0.0.1:9/hook")
    assert no_secret.status_code == 422
    assert "POST /api/v1/webhooks/callback-secret" in no_secret.json()["detail"]
    assert client.post("/webhooks/callback-secret", headers=auth).status_code == 201
    for url in PRIVATE_URLS:
        response = submit(url)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["fields"][0]["field"] == "callback_url"
    assert client.get("/jobs", headers=auth).json()["total"] == 0


def test_a_destination_is_checked_again_at_send_time(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """Deliveries whose URL the guard would refuse now (as when the operator narrows the
    allow-list after registration) fail without a request and without retries, and enough of
    them in a row disable the endpoint. The endpoint's URL is set straight in the database,
    since the API refuses such URLs, and the rows written into the outbox; the sweeper sends
    them."""
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    _set_endpoint_url(endpoint, "http://10.0.0.1:9/hook")
    in_a_row = get_settings().webhook_disable_after
    ids = [_outbox_row(client, auth, endpoint, hook.url) for _ in range(in_a_row)]
    refused = (
        "destination refused: 10.0.0.1 is a private address: webhooks go to public addresses only"
    )
    for delivery_id in ids:
        delivery = _settled(client, auth, str(delivery_id))
        assert (delivery["status"], delivery["last_error"]) == ("failed", refused)
        (attempt,) = delivery["attempt_log"]
        assert attempt["status_code"] is None
    disabled = client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()
    assert not disabled["is_active"]
    assert (
        disabled["disabled_reason"] == f"{in_a_row} deliveries in a row failed; the last: {refused}"
    )
    assert hook.requests == []


def test_410_gone_disables_the_endpoint(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    hook = receiver((410, {}, b"no such hook"))
    endpoint = _endpoint(client, auth, hook.url)
    job_id = _image_job(client, auth)

    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert (delivery["status"], delivery["last_error"]) == (
        "failed",
        "the receiver answered 410 Gone",
    )
    assert len(hook.requests) == 1
    disabled = client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()
    assert (disabled["is_active"], disabled["disabled_reason"]) == (
        False,
        "the receiver answered 410 Gone",
    )
    # A disabled endpoint gets no new deliveries, and old ones cannot be re-sent to it.
    second_job = _image_job(client, auth)
    assert client.get(f"/jobs/{second_job}/deliveries", headers=auth).json()["total"] == 0
    refused = client.post(f"/webhook-deliveries/{delivery['id']}/redeliver", headers=auth)
    assert refused.status_code == 409
    enabled = client.patch(f"/webhooks/{endpoint['id']}", json={"is_active": True}, headers=auth)
    assert (enabled.json()["is_active"], enabled.json()["disabled_reason"]) == (True, None)
    resent = client.post(f"/webhook-deliveries/{delivery['id']}/redeliver", headers=auth)
    assert resent.status_code == 202, resent.text
    assert _settled(client, auth, delivery["id"])["status"] == "succeeded"


def test_429_retry_after_is_honoured(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    # The backoff alone would retry within 0.2 s (VIGIL_WEBHOOK_BACKOFF_BASE_S).
    hook = receiver((429, {"Retry-After": "1"}, b"slow down"))
    _endpoint(client, auth, hook.url)
    job_id = _image_job(client, auth)

    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert delivery["status"] == "succeeded"
    first, second = hook.wait_for(2)
    assert second.at - first.at >= 1.0
    assert [a["status_code"] for a in delivery["attempt_log"]] == [429, 200]
    assert delivery["attempt_log"][0]["error"] == "the receiver answered 429"


def test_callback_urls_get_the_outcome_signed_with_the_callback_secret(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    created = client.post("/webhooks/callback-secret", headers=auth)
    assert created.status_code == 201
    secret = created.json()["secret"]
    hook = receiver()
    job_id = _image_job(client, auth, callback_url=hook.url)
    (request,) = hook.wait_for(1)
    # The first secret replaced none, so it signs alone.
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    payload = request.verified(secret)
    assert (payload["type"], payload["data"]["job_id"]) == ("job.completed", job_id)
    delivery = _job_delivery(client, auth, job_id)
    assert (delivery["endpoint_id"], delivery["url"]) == (None, hook.url)

    response = client.post(
        "/process/video",
        files={"file": ("clip.mp4", mp4_without_video())},
        data={"callback_url": hook.url},
        headers=auth,
    )
    assert response.status_code == 202, response.text
    failed_job = response.json()["job_id"]
    assert wait_for(client, failed_job, auth)["status"] == "failed"
    failed = hook.wait_for(2)[1].verified(secret)
    assert failed["type"] == "job.failed"
    assert failed["data"]["job_id"] == failed_job
    assert (failed["data"]["status"], failed["data"]["error"]) == (
        "failed",
        "could not decode video",
    )
    assert "summary" not in failed["data"]


def test_video_progress_reaches_subscribed_endpoints(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    progress_hook = receiver()
    progress = _endpoint(client, auth, progress_hook.url, "job.progress", "job.completed")
    quiet_hook = receiver()
    _endpoint(client, auth, quiet_hook.url, "job.completed")
    with PEDESTRIANS.open("rb") as handle:
        response = client.post(
            "/process/video",
            files={"file": (PEDESTRIANS.name, handle, "video/x-msvideo")},
            data={"params": json.dumps({"max_frames": 48})},
            headers=auth,
        )
    job_id = response.json()["job_id"]
    assert wait_for(client, job_id, auth)["status"] == "completed"
    completed = _settled(client, auth, _job_delivery(client, auth, job_id, progress["id"])["id"])
    assert completed["status"] == "succeeded"

    deliveries = client.get(f"/jobs/{job_id}/deliveries", headers=auth).json()["items"]
    progress_ids = [d["id"] for d in deliveries if d["event_type"] == "job.progress"]
    assert progress_ids, deliveries
    for delivery_id in progress_ids:
        assert _settled(client, auth, delivery_id)["endpoint_id"] == progress["id"]
    payloads = [
        r.verified(progress["secret"]) for r in progress_hook.wait_for(1 + len(progress_ids))
    ]
    updates = [p["data"] for p in payloads if p["type"] == "job.progress"]
    assert len(updates) == len(progress_ids)
    for update in updates:
        assert update["job_id"] == job_id
        assert update["status"] == "processing"
        assert 0 < update["frames_processed"] <= update["frames_total"] == 48
        assert 0 < update["progress"] < 100
    assert [json.loads(r.body)["type"] for r in quiet_hook.wait_for(1)] == ["job.completed"]


def test_watchlist_matches_are_sent_one_per_match(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    watched = client.post(
        "/watchlist", json={"plate": "dz17 yxr", "label": "person of interest"}, headers=auth
    )
    assert watched.status_code == 201, watched.text
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url, "plate.watchlist_match")
    with PLATE_PNG.open("rb") as handle:
        response = client.post(
            "/process/image",
            files={"file": (PLATE_PNG.name, handle)},
            data={"params": json.dumps({"detectors": ["plates"]})},
            headers=auth,
        )
    job_id = response.json()["job_id"]
    assert wait_for(client, job_id, auth)["status"] == "completed"

    (request,) = hook.wait_for(1)
    payload = request.verified(endpoint["secret"])
    assert payload["type"] == "plate.watchlist_match"
    match = payload["data"]
    assert match["job_id"] == job_id
    assert (match["license_plate"], match["watch_pattern"], match["watch_label"]) == (
        "DZ17YXR",
        "DZ17YXR",
        "person of interest",
    )
    assert {"confidence", "frame_index", "timestamp", "watch_kind"} <= set(match)
    (delivery,) = client.get(f"/jobs/{job_id}/deliveries", headers=auth).json()["items"]
    assert delivery["event_type"] == "plate.watchlist_match"


def test_redeliver_resends_with_the_same_id_and_others_see_nothing(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    job_id = _image_job(client, auth)
    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert delivery["status"] == "succeeded"

    resent = client.post(f"/webhook-deliveries/{delivery['id']}/redeliver", headers=auth)
    assert resent.status_code == 202
    assert (resent.json()["status"], resent.json()["attempts"]) == ("pending", 0)
    first, second = hook.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["msg_id"]
    assert first.body == second.body
    again = _settled(client, auth, delivery["id"])
    assert again["status"] == "succeeded"
    assert [a["number"] for a in again["attempt_log"]] == [1, 2]

    intruder = signup_and_signin(client)
    for method, path in (
        ("GET", f"/webhooks/{endpoint['id']}"),
        ("PATCH", f"/webhooks/{endpoint['id']}"),
        ("DELETE", f"/webhooks/{endpoint['id']}"),
        ("POST", f"/webhooks/{endpoint['id']}/rotate-secret"),
        ("GET", f"/webhooks/{endpoint['id']}/deliveries"),
        ("GET", f"/webhook-deliveries/{delivery['id']}"),
        ("POST", f"/webhook-deliveries/{delivery['id']}/redeliver"),
        ("GET", f"/jobs/{job_id}/deliveries"),
        ("GET", f"/webhooks/{uuid.uuid4()}"),
        ("GET", "/webhook-deliveries/not-a-uuid"),
    ):
        body = {"description": "mine now"} if method == "PATCH" else None
        response = client.request(method, path, json=body, headers=intruder)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"
    assert client.get("/webhooks", headers=intruder).json()["total"] == 0
    assert client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()["description"] is None
    assert len(hook.requests) == 2


def test_endpoint_crud_rotation_and_audit(client: httpx.Client, auth: dict[str, str]) -> None:
    created = client.post(
        "/webhooks",
        json={
            "url": "http://127.0.0.1:9/in",
            "event_types": ["job.failed", "job.completed", "job.failed"],
            "description": "ops channel",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert set(endpoint) == {
        "id",
        "url",
        "description",
        "event_types",
        "is_active",
        "disabled_reason",
        "created_at",
        "updated_at",
        "secret",
    }
    assert endpoint["event_types"] == ["job.failed", "job.completed"]
    assert (endpoint["is_active"], endpoint["disabled_reason"]) == (True, None)
    webhook_id = endpoint["id"]

    listed = client.get("/webhooks", headers=auth).json()
    assert listed["total"] == 1
    assert "secret" not in listed["items"][0]
    patched = client.patch(
        f"/webhooks/{webhook_id}",
        json={"event_types": ["plate.watchlist_match"], "description": None},
        headers=auth,
    ).json()
    assert (patched["event_types"], patched["description"]) == (["plate.watchlist_match"], None)
    assert patched["url"] == "http://127.0.0.1:9/in"
    rotated = client.post(f"/webhooks/{webhook_id}/rotate-secret", headers=auth)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != endpoint["secret"]

    for body in (
        {"url": "http://127.0.0.1:9/", "event_types": []},
        {"url": "http://127.0.0.1:9/", "event_types": ["job.exploded"]},
        {"url": "http://127.0.0.1:9/", "event_types": ["job.failed"], "secret": "mine"},
        {"event_types": ["job.failed"]},
        {"url": "http://127.0.0.1:9/", "event_types": ["job.failed"], "description": "x" * 201},
    ):
        assert client.post("/webhooks", json=body, headers=auth).status_code == 422, body
    patches: list[dict[str, Any]] = [
        {"url": None},
        {"event_types": []},
        {"is_active": None},
        {"colour": "red"},
    ]
    for patch in patches:
        response = client.patch(f"/webhooks/{webhook_id}", json=patch, headers=auth)
        assert response.status_code == 422, patch

    assert client.delete(f"/webhooks/{webhook_id}", headers=auth).status_code == 204
    assert client.get(f"/webhooks/{webhook_id}", headers=auth).status_code == 404
    assert client.delete(f"/webhooks/{webhook_id}", headers=auth).status_code == 404
    client.post("/webhooks/callback-secret", headers=auth)

    events = client.get("/me/audit-events", headers=auth).json()["items"]
    actions = [e["action"] for e in events]
    for action in (
        "webhook_created",
        "webhook_updated",
        "webhook_secret_rotated",
        "webhook_deleted",
        "callback_secret_rotated",
    ):
        assert action in actions, actions
    created_event = next(e for e in events if e["action"] == "webhook_created")
    assert created_event["details"]["webhook_id"] == webhook_id
    assert "secret" not in json.dumps(created_event["details"])


def test_the_outbox_row_commits_with_the_job_and_survives_a_lost_message(
    stack: LocalStack,
    client: httpx.Client,
    auth: dict[str, str],
    receiver: Callable[..., Receiver],
) -> None:
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    stack.stop_process("webhooks")
    try:
        job_id = _image_job(client, auth)
        (row,) = db_fetch(
            "SELECT d.id, d.status, d.attempts, d.xmin::text AS tx, j.xmin::text AS job_tx "
            "FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id WHERE d.job_id = $1",
            uuid.UUID(job_id),
        )
        assert (row["status"], row["attempts"]) == ("pending", 0)
        # Written by the very transaction that completed the job.
        assert row["tx"] == row["job_tx"]
        # The task message is lost (a broker restart without persistence, say): the outbox row
        # is the record, and the sweeper sends it.
        redis.Redis.from_url(TEST_ENV["VIGIL_REDIS_URL"]).delete(WEBHOOK_QUEUE)
    finally:
        stack.start_webhook_worker()
    (request,) = hook.wait_for(1, timeout_s=60)
    assert request.verified(endpoint["secret"])["data"]["job_id"] == job_id
    assert _settled(client, auth, str(row["id"]))["status"] == "succeeded"


def test_a_receiver_that_is_down_is_retried(client: httpx.Client, auth: dict[str, str]) -> None:
    _endpoint(client, auth, _closed_port_url())
    job_id = _image_job(client, auth)
    delivery_id = _job_delivery(client, auth, job_id)["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivery = client.get(f"/webhook-deliveries/{delivery_id}", headers=auth).json()
        if len(delivery["attempt_log"]) >= 2:
            break
        time.sleep(0.1)
    first, second = delivery["attempt_log"][:2]
    for attempt in (first, second):
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("connection failed: ")


def test_an_answer_trickling_in_is_cut_off_and_retried(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    hook = receiver(_trickle)
    endpoint = _endpoint(client, auth, hook.url)
    delivery = _settled(client, auth, str(_outbox_row(client, auth, endpoint, hook.url)))
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)
    slow, fine = delivery["attempt_log"]
    # Three times the 2 s per-phase timeout, for the whole request.
    assert (slow["status_code"], slow["error"]) == (None, "no complete answer within 6s")
    assert (fine["status_code"], fine["error"]) == (200, None)


def test_an_attempt_counts_from_its_start_and_is_not_redelivered_midway(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """While the receiver holds the request: the attempt is already counted (so one whose sender
    dies still uses up an attempt), and a redelivery, which that sender's outcome would
    overwrite, is refused."""
    seen: dict[str, Any] = {}
    answer_ok = _answer(200, "OK")

    def look_then_answer(handler: BaseHTTPRequestHandler) -> None:
        (row,) = db_fetch(
            "SELECT id, attempts FROM webhook_deliveries WHERE msg_id = $1",
            handler.headers["webhook-id"],
        )
        seen["attempts"] = row["attempts"]
        with httpx.Client(base_url=client.base_url) as other:
            seen["redeliver"] = other.post(
                f"/webhook-deliveries/{row['id']}/redeliver", headers=auth
            )
        answer_ok(handler)

    hook = receiver(look_then_answer)
    endpoint = _endpoint(client, auth, hook.url)
    delivery = _settled(client, auth, str(_outbox_row(client, auth, endpoint, hook.url)))
    assert seen["attempts"] == 1
    assert seen["redeliver"].status_code == 409
    assert seen["redeliver"].json()["detail"] == (
        "an attempt at this delivery is in flight; try again in a moment"
    )
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 1)
    assert [a["number"] for a in delivery["attempt_log"]] == [1]
    assert len(hook.requests) == 1


def test_the_sweeper_gives_up_on_a_delivery_out_of_attempts(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """A pending delivery whose attempts are all counted yet whose last attempt never got
    recorded (its sender was killed mid-request) fails instead of being sent again."""
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    attempts = get_settings().webhook_max_attempts
    delivery_id = _outbox_row(client, auth, endpoint, hook.url, attempts=attempts)
    delivery = _settled(client, auth, str(delivery_id))
    assert (delivery["status"], delivery["attempts"], delivery["attempt_log"]) == (
        "failed",
        attempts,
        [],
    )
    assert delivery["last_error"] == (
        f"gave up after {attempts} attempts; the last one never finished"
    )
    (row,) = db_fetch(
        "SELECT failure_streak FROM webhook_endpoints WHERE id = $1", uuid.UUID(endpoint["id"])
    )
    assert row["failure_streak"] == 1
    assert hook.requests == []


def test_a_long_error_still_disables_the_endpoint(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """The disabled reason quotes the last error, cut to what its column holds. A public
    receiver's reason phrase can make it that long; the test receivers are private (their
    words are not kept), so the sender's record of such attempts is made here, through the
    repository it uses."""
    in_a_row = get_settings().webhook_disable_after
    error = "the receiver answered 400 " + "x" * 480
    endpoint = _endpoint(client, auth, receiver().url)
    ids = [_outbox_row(client, auth, endpoint, endpoint["url"]) for _ in range(in_a_row)]
    # Kept from the sweeper for the minute this takes.
    db_fetch("UPDATE webhook_deliveries SET updated_at = now() WHERE id = ANY($1)", ids)

    async def fail_each() -> None:
        await Tortoise.init(config=tortoise_config(TEST_ENV["VIGIL_DATABASE_URL"]))
        try:
            for delivery_id in ids:
                claimed = await repo.claim(delivery_id, timedelta(minutes=1))
                assert isinstance(claimed, repo.Claimed)
                attempt = repo.AttemptRecord(utcnow(), 5, 400, error, None)
                verdict = repo.Verdict(DeliveryStatus.FAILED)
                assert await repo.record_attempt(claimed, attempt, verdict, in_a_row)
        finally:
            await Tortoise.close_connections()

    asyncio.run(fail_each())
    disabled = client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()
    assert not disabled["is_active"]
    expected = f"{in_a_row} deliveries in a row failed; the last: {error}"
    assert disabled["disabled_reason"] == expected[:500]


def test_an_allow_listed_service_is_reached_on_its_ports_only_and_never_read_back(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-07: the loopback network is allowed on some ports only; what a service there answers
    (here a secret) is delivered to, yet never shown in the attempt log."""
    internal = receiver((200, {"content-type": "application/json"}, b'{"internal": "hunter2"}'))
    url = internal.url.replace("/hook", "/admin/export?all=1")
    endpoint = _endpoint(client, auth, url)
    delivery = _settled(client, auth, str(_outbox_row(client, auth, endpoint, url)))
    assert delivery["status"] == "succeeded"
    (attempt,) = delivery["attempt_log"]
    assert (attempt["status_code"], attempt["error"], attempt["response_excerpt"]) == (
        200,
        None,
        None,
    )
    assert "hunter2" not in json.dumps(delivery)
    assert len(internal.requests) == 1

    # The same host on a port the entry does not name: refused at registration and on patch...
    outside = "http://127.0.0.1:80/admin"
    refused = client.post(
        "/webhooks", json={"url": outside, "event_types": ["job.completed"]}, headers=auth
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "url: 127.0.0.1 is a loopback address, open to webhooks on other ports only"
    )
    patched = client.patch(f"/webhooks/{endpoint['id']}", json={"url": outside}, headers=auth)
    assert patched.status_code == 422
    assert client.get(f"/webhooks/{endpoint['id']}", headers=auth).json()["url"] == url
    # ...and at send time, should the URL have got there all the same.
    _set_endpoint_url(endpoint, outside)
    delivery = _settled(client, auth, str(_outbox_row(client, auth, endpoint, url)))
    assert (delivery["status"], delivery["last_error"]) == (
        "failed",
        "destination refused: 127.0.0.1 is a loopback address, open to webhooks on other ports "
        "only",
    )
    assert len(internal.requests) == 1


def test_public_destinations_are_open_on_web_ports_only(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """F-07: a public address on a port that is not a web port is refused (no POST proxy to,
    say, a Redis on the internet)."""
    response = client.post(
        "/webhooks",
        json={"url": "http://8.8.8.8:6379/", "event_types": ["job.completed"]},
        headers=auth,
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        "url: port 6379 is not open for webhooks; use one of 80, 443, 8080, 8443"
    )
    site_local = client.post(
        "/webhooks",
        json={"url": "http://[fec0::1]/x", "event_types": ["job.completed"]},
        headers=auth,
    )
    assert site_local.status_code == 422
    assert "site-local" in site_local.json()["detail"]


def test_deliveries_follow_the_endpoint_s_new_url(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-11: after the URL changes, retries and redeliveries go to the new one, and each
    attempt shows where it went."""
    dead = _closed_port_url()
    endpoint = _endpoint(client, auth, dead)
    job_id = _image_job(client, auth)
    delivery_id = _job_delivery(client, auth, job_id)["id"]
    deadline = time.monotonic() + 30
    while not client.get(f"/webhook-deliveries/{delivery_id}", headers=auth).json()["attempt_log"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    new = receiver()
    patched = client.patch(f"/webhooks/{endpoint['id']}", json={"url": new.url}, headers=auth)
    assert patched.status_code == 200, patched.text
    delivery = _settled(client, auth, delivery_id)
    assert delivery["status"] == "succeeded"
    assert delivery["url"] == new.url
    *failed, last = delivery["attempt_log"]
    assert {a["url"] for a in failed} == {dead}
    assert all(a["error"].startswith("connection failed: ") for a in failed)
    assert (last["url"], last["status_code"]) == (new.url, 200)
    (request,) = new.wait_for(1)
    assert request.verified(endpoint["secret"])["data"]["job_id"] == job_id

    # A finished delivery, redelivered after another change, goes to the URL of the moment.
    old = new
    newer = receiver()
    client.patch(f"/webhooks/{endpoint['id']}", json={"url": newer.url}, headers=auth)
    resent = client.post(f"/webhook-deliveries/{delivery_id}/redeliver", headers=auth)
    assert resent.status_code == 202, resent.text
    assert resent.json()["url"] == newer.url
    newer.wait_for(1)
    again = _settled(client, auth, delivery_id)
    assert (again["url"], again["attempt_log"][-1]["url"]) == (newer.url, newer.url)
    assert len(old.requests) == 1


def test_a_slow_endpoint_gets_one_attempt_at_a_time_and_others_go_on(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-17: deliveries queued for a slow receiver are sent one at a time (the test stack's
    per-endpoint limit), without using up attempts while they wait, and meanwhile another
    tenant's endpoint and the same owner's other endpoint are served."""
    in_flight = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        time.sleep(1.0)
        with lock:
            in_flight["now"] -= 1
        _answer(200, "OK")(handler)

    queued = 4
    slow_hook = receiver(*[slow] * queued)
    slow_endpoint = _endpoint(client, auth, slow_hook.url)
    own_hook = receiver()
    own_endpoint = _endpoint(client, auth, own_hook.url)
    other_user = signup_and_signin(client)
    other_hook = receiver()
    other_endpoint = _endpoint(client, other_user, other_hook.url)

    ids = [_outbox_row(client, auth, slow_endpoint, slow_hook.url) for _ in range(queued)]
    own_id = _outbox_row(client, auth, own_endpoint, own_hook.url)
    other_id = _outbox_row(client, other_user, other_endpoint, other_hook.url)

    for delivery_id in ids:
        delivery = _settled(client, auth, str(delivery_id), timeout_s=60)
        assert (delivery["status"], delivery["attempts"]) == ("succeeded", 1)
    slow_requests = slow_hook.wait_for(queued)
    assert in_flight["most"] == 1
    assert _settled(client, other_user, str(other_id))["status"] == "succeeded"
    assert _settled(client, auth, str(own_id))["status"] == "succeeded"
    # Served while the slow receiver still had deliveries waiting.
    last_slow_start = max(r.at for r in slow_requests)
    assert other_hook.wait_for(1)[0].at < last_slow_start
    assert own_hook.wait_for(1)[0].at < last_slow_start


def test_redeliveries_are_rate_limited_per_endpoint(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-17: redeliver cannot be used to keep the senders busy."""
    limit = get_settings().webhook_redeliver_per_minute
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    other = _endpoint(client, auth, receiver().url)
    delivery_id = str(_outbox_row(client, auth, endpoint, hook.url))
    other_id = str(_outbox_row(client, auth, other, hook.url))
    _settled(client, auth, delivery_id)
    # The limit counts per clock minute: all of these must fall in the same one.
    left_in_minute = 60 - time.time() % 60
    if left_in_minute < 15:
        time.sleep(left_in_minute)
    answers = [
        client.post(f"/webhook-deliveries/{delivery_id}/redeliver", headers=auth).status_code
        for _ in range(limit)
    ]
    assert set(answers) <= {202, 409}, answers
    over = client.post(f"/webhook-deliveries/{delivery_id}/redeliver", headers=auth)
    assert over.status_code == 429, over.text
    assert over.json()["error"] == "rate_limited"
    assert int(over.headers["retry-after"]) >= 1
    assert client.post(f"/webhook-deliveries/{other_id}/redeliver", headers=auth).status_code in (
        202,
        409,
    )


def _overlap_ends_and_a_second_rotation_drops_the_oldest(
    client: httpx.Client,
    auth: dict[str, str],
    hook: Receiver,
    endpoint: dict[str, Any] | None,
    secrets: tuple[str, str],
) -> None:
    """The rest of a rotation of `endpoint`'s secret (the callback secret when None), once a
    delivery carried both `secrets` (old, new): the old one signs for the configured overlap,
    then no more; and only the secret replaced last keeps signing, so rotating twice drops a
    leaked one (say the current one) at once."""
    old, new = secrets
    if endpoint is None:
        row_id = uuid.UUID(client.get("/me", headers=auth).json()["id"])
        left_sql = "SELECT previous_callback_secret_until - now() AS left FROM users WHERE id = $1"
        end_sql = (
            "UPDATE users SET previous_callback_secret_until = now() - interval '1 second' "
            "WHERE id = $1"
        )
        rotate = "/webhooks/callback-secret"
    else:
        row_id = uuid.UUID(endpoint["id"])
        left_sql = (
            "SELECT previous_secret_until - now() AS left FROM webhook_endpoints WHERE id = $1"
        )
        end_sql = (
            "UPDATE webhook_endpoints SET previous_secret_until = now() - interval '1 second' "
            "WHERE id = $1"
        )
        rotate = f"/webhooks/{endpoint['id']}/rotate-secret"
    (found,) = db_fetch(left_sql, row_id)
    overlap = get_settings().webhook_secret_overlap_s
    assert overlap - 60 < found["left"].total_seconds() <= overlap
    db_fetch(end_sql, row_id)
    _settled(client, auth, str(_outbox_row(client, auth, endpoint, hook.url)))
    after = hook.wait_for(2)[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verified(new)
    with pytest.raises(WebhookVerificationError):
        after.verified(old)

    rotate = (
        f"/webhooks/{endpoint['id']}/rotate-secret" if endpoint else "/webhooks/callback-secret"
    )
    between = client.post(rotate, headers=auth).json()["secret"]
    newest = client.post(rotate, headers=auth).json()["secret"]
    _settled(client, auth, str(_outbox_row(client, auth, endpoint, hook.url)))
    third = hook.wait_for(3)[2]
    assert third.verified(newest) == third.verified(between)
    for dropped in (new, old):
        with pytest.raises(WebhookVerificationError):
            third.verified(dropped)


def test_a_rotated_secret_keeps_signing_during_the_overlap_only(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-21: after a rotation, webhooks carry signatures by the new and the old secret, so a
    receiver still holding the old one verifies them; once the overlap is over, the new only."""
    hook = receiver()
    endpoint = _endpoint(client, auth, hook.url)
    old = endpoint["secret"]
    new = client.post(f"/webhooks/{endpoint['id']}/rotate-secret", headers=auth).json()["secret"]
    _settled(client, auth, str(_outbox_row(client, auth, endpoint, hook.url)))
    (during,) = hook.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verified(old) == during.verified(new)

    _overlap_ends_and_a_second_rotation_drops_the_oldest(client, auth, hook, endpoint, (old, new))


def test_a_rotated_callback_secret_keeps_signing_during_the_overlap_only(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-21: the account's callback secret rotates as an endpoint's secret does: callbacks carry
    signatures by the new and the old secret during the overlap, then by the new only."""
    rotate = "/webhooks/callback-secret"
    old = client.post(rotate, headers=auth).json()["secret"]
    new = client.post(rotate, headers=auth).json()["secret"]
    assert new != old

    # A real job's outcome verifies with either secret.
    hook = receiver()
    job_id = _image_job(client, auth, callback_url=hook.url)
    delivery = _settled(client, auth, _job_delivery(client, auth, job_id)["id"])
    assert (delivery["status"], delivery["endpoint_id"], delivery["url"]) == (
        "succeeded",
        None,
        hook.url,
    )
    (during,) = hook.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verified(old) == during.verified(new)
    assert during.verified(new)["data"]["job_id"] == job_id

    _overlap_ends_and_a_second_rotation_drops_the_oldest(client, auth, hook, None, (old, new))


def test_a_job_s_deliveries_are_paged(
    client: httpx.Client, auth: dict[str, str], receiver: Callable[..., Receiver]
) -> None:
    """F-21: a job with many deliveries is listed a page at a time, oldest first."""
    endpoints = [_endpoint(client, auth, receiver().url) for _ in range(3)]
    job_id = _image_job(client, auth)
    first = client.get(f"/jobs/{job_id}/deliveries?page=1&page_size=2", headers=auth).json()
    second = client.get(f"/jobs/{job_id}/deliveries?page=2&page_size=2", headers=auth).json()
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (3, 1, 2, 2)
    assert (second["total"], len(second["items"])) == (3, 1)
    listed = [d["endpoint_id"] for d in first["items"] + second["items"]]
    assert sorted(listed) == sorted(e["id"] for e in endpoints)
    for bad in ("page=0", "page_size=0", "page_size=101", "page=x"):
        response = client.get(f"/jobs/{job_id}/deliveries?{bad}", headers=auth)
        assert response.status_code == 422, bad
