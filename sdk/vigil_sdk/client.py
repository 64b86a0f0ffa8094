"""The synchronous client."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from vigil_sdk import models
from vigil_sdk._core import (
    DEFAULT_URL,
    Call,
    Core,
    Download,
    EventFollower,
    Id,
    Params,
    camera_changes,
    camera_fields,
    webhook_changes,
)
from vigil_sdk.sse import ServerEvent, SSEParser
from vigil_sdk.waiting import ProgressCallback, Waiter

T = TypeVar("T")


class Client:
    """Vigil's REST API. Authenticate with an API key (`api_key=`, sent as X-API-Key), an access
    token, or `signin()`; a signed-in client refreshes its access token once when the API
    answers 401, then retries. Errors raise `vigil_sdk.errors.VigilError` subclasses; a 429
    raises RateLimitedError with `retry_after` rather than sleeping."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        timeout: float | None = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = Core(base_url, api_key, access_token)
        self._http = httpx.Client(transport=transport, **self._core.http_options(timeout))
        self._refresh_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # I/O: the only part that differs from AsyncClient

    def _send_once(self, call: Call[Any]) -> httpx.Response:
        with self._core.request(call, self._http) as request:
            response = self._http.send(request, stream=call.stream)
        if call.stream and response.is_error:
            response.read()
        return response

    def _send(self, call: Call[Any]) -> httpx.Response:
        token = self._core.access_token
        response = self._send_once(call)
        if self._core.should_refresh(call, response):
            response.close()
            with self._refresh_lock:
                # Another thread may have refreshed meanwhile; a second refresh with the same
                # (now used) refresh token would revoke the whole sign-in.
                if self._core.access_token == token:
                    self._execute(self._core.refresh())
            response = self._send_once(call)
        return response

    def _execute(self, call: Call[T]) -> T:
        return call.parse(self._send(call))

    @contextmanager
    def _stream(self, call: Call[httpx.Response]) -> Iterator[httpx.Response]:
        response = self._send(call)
        try:
            yield call.parse(response)
        finally:
            response.close()

    # auth and account

    def signup(self, email: str, password: str, full_name: str | None = None) -> models.User:
        return self._execute(self._core.signup(email, password, full_name))

    def signin(self, email: str, password: str) -> models.TokenPair:
        """Sign in; the client keeps the tokens and uses them from now on."""
        return self._execute(self._core.signin(email, password))

    def me(self) -> models.User:
        return self._execute(self._core.me())

    def audit_events(self, page: int = 1, page_size: int = 50) -> models.Page[models.AuditEvent]:
        return self._execute(self._core.audit_events(page, page_size))

    def create_api_key(
        self,
        name: str,
        *,
        scopes: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> models.ApiKeyCreated:
        """A new key; its `key` is shown only in this answer. `scopes`: of `read`, `write`,
        `admin` (the server's default: read and write); `expires_at`: time-zone aware."""
        return self._execute(self._core.create_api_key(name, scopes, expires_at))

    def list_api_keys(self, include_revoked: bool = False) -> list[models.ApiKey]:
        return self._execute(self._core.list_api_keys(include_revoked))

    def revoke_api_key(self, key_id: Id) -> None:
        self._execute(self._core.revoke_api_key(key_id))

    # jobs

    def submit(
        self, path: str | Path, params: Params | None = None, *, callback_url: str | None = None
    ) -> models.JobAccepted | models.ImageResult:
        """Upload an image or a video (told apart by its first bytes). An image analysed
        within the request comes back as its ImageResult, anything else as JobAccepted; both
        have `job_id` and `status`."""
        return self._execute(self._core.submit(Path(path), params, callback_url))

    def submit_batch(
        self,
        paths: Sequence[str | Path],
        params: Params | None = None,
        *,
        callback_url: str | None = None,
    ) -> models.BatchResult:
        """Several files in one request, each its own job; a bad file is reported in its item."""
        call = self._core.submit_batch([Path(p) for p in paths], params, callback_url)
        return self._execute(call)

    def status(self, job_id: Id) -> models.JobStatus:
        return self._execute(self._core.status(job_id))

    def wait(
        self,
        job_id: Id,
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        progress: bool | ProgressCallback = False,
    ) -> models.JobStatus:
        """Poll until the job completes or fails (check `.status`); JobTimeoutError after
        `timeout` seconds. `progress=True` draws a bar on stderr; a callable gets each status."""
        with Waiter(str(job_id), timeout, poll_interval, progress) as waiter:
            while True:
                status = self.status(job_id)
                if waiter.observe(status):
                    return status
                time.sleep(waiter.delay())

    def events(self, job_id: Id) -> Iterator[ServerEvent]:
        """The job's live events (`status`, `progress`, then `end`) until the stream closes."""
        parser = SSEParser()
        with self._stream(self._core.events(job_id)) as response:
            for line in response.iter_lines():
                if (event := parser.feed(line)) is not None:
                    yield event

    def results(self, job_id: Id, page: int = 1, page_size: int = 100) -> models.JobResults:
        return self._execute(self._core.results(job_id, page, page_size))

    def iter_frames(self, job_id: Id, *, page_size: int = 500) -> Iterator[models.Frame]:
        """Every frame of a completed job, fetching the pages as it goes."""
        page: int | None = 1
        while page is not None:
            results = self.results(job_id, page, page_size)
            yield from results.frames
            page = results.next_page

    def download_annotated(self, job_id: Id, dest: str | Path) -> Path:
        """Stream the annotated JPEG/MP4 to `dest` (a file, or a directory to put it in)."""
        with (
            self._stream(self._core.annotated(job_id)) as response,
            Download(response, Path(dest), job_id) as download,
        ):
            for chunk in response.iter_bytes():
                download.write(chunk)
        return download.path

    def list_jobs(
        self, status: str | None = None, page: int = 1, page_size: int = 20
    ) -> models.Page[models.JobSummary]:
        return self._execute(self._core.list_jobs(status, page, page_size))

    def delete_job(self, job_id: Id) -> None:
        self._execute(self._core.delete_job(job_id))

    def job_deliveries(
        self, job_id: Id, page: int = 1, page_size: int = 20
    ) -> models.Page[models.WebhookDelivery]:
        return self._execute(self._core.job_deliveries(job_id, page, page_size))

    # webhooks

    def create_webhook(
        self, url: str, event_types: Sequence[str], description: str | None = None
    ) -> models.WebhookCreated:
        """A new endpoint; its signing `secret` is shown only here (and on rotation)."""
        return self._execute(self._core.create_webhook(url, event_types, description))

    def list_webhooks(self) -> list[models.Webhook]:
        return self._execute(self._core.list_webhooks())

    def get_webhook(self, webhook_id: Id) -> models.Webhook:
        return self._execute(self._core.get_webhook(webhook_id))

    def update_webhook(
        self,
        webhook_id: Id,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        is_active: bool | None = None,
    ) -> models.Webhook:
        """Change what is given (None leaves a field as it is); `is_active=True` re-enables."""
        changes = webhook_changes(url, event_types, description, is_active)
        return self._execute(self._core.update_webhook(webhook_id, changes))

    def delete_webhook(self, webhook_id: Id) -> None:
        self._execute(self._core.delete_webhook(webhook_id))

    def rotate_webhook_secret(self, webhook_id: Id) -> str:
        return self._execute(self._core.rotate_webhook_secret(webhook_id))

    def webhook_deliveries(
        self, webhook_id: Id, status: str | None = None, page: int = 1, page_size: int = 20
    ) -> models.Page[models.WebhookDelivery]:
        return self._execute(self._core.webhook_deliveries(webhook_id, status, page, page_size))

    def get_delivery(self, delivery_id: Id) -> models.WebhookDeliveryDetail:
        return self._execute(self._core.get_delivery(delivery_id))

    def redeliver(self, delivery_id: Id) -> models.WebhookDelivery:
        """Send a delivery again now, with the same message id."""
        return self._execute(self._core.redeliver(delivery_id))

    def create_callback_secret(self) -> str:
        """Create or rotate the secret that signs `callback_url` deliveries."""
        return self._execute(self._core.create_callback_secret())

    # watchlist

    def add_watch(
        self, plate: str, kind: str = "exact", label: str | None = None
    ) -> models.WatchlistEntry:
        """A plate (`kind="exact"`) or a pattern with `*`/`?` (`kind="pattern"`) to watch for."""
        return self._execute(self._core.add_watch(plate, kind, label))

    def list_watchlist(self) -> list[models.WatchlistEntry]:
        return self._execute(self._core.list_watchlist())

    def delete_watch(self, entry_id: Id) -> None:
        self._execute(self._core.delete_watch(entry_id))

    # cameras

    def add_camera(
        self,
        camera_id: str,
        stream_url: str,
        *,
        name: str | None = None,
        parameters: Params | None = None,
        active: bool = True,
    ) -> models.Camera:
        """Register a camera; `active=False` only registers it. Credentials in `stream_url`
        (`rtsp://user:pass@host/...`) are stored encrypted and never shown again."""
        fields = camera_fields(camera_id, stream_url, name, parameters, active)
        return self._execute(self._core.add_camera(fields))

    def add_cameras(self, cameras: Sequence[Mapping[str, Any]]) -> models.CameraBatch:
        """Several cameras in one request (each a POST /cameras object); a refused camera is
        reported in its item, and ConflictError or ValidationError when none is created."""
        return self._execute(self._core.add_cameras(cameras))

    def list_cameras(
        self,
        *,
        state: str | None = None,
        status: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> models.Page[models.Camera]:
        return self._execute(self._core.list_cameras(state, status, page, page_size))

    def get_camera(self, camera_id: str) -> models.Camera:
        return self._execute(self._core.get_camera(camera_id))

    def update_camera(
        self,
        camera_id: str,
        *,
        name: str | None = None,
        stream_url: str | None = None,
        parameters: Params | None = None,
        status: str | None = None,
    ) -> models.Camera:
        """Change what is given (None leaves a field as it is); a new status, stream_url or
        parameters restarts the camera."""
        changes = camera_changes(name, stream_url, parameters, status)
        return self._execute(self._core.update_camera(camera_id, changes))

    def delete_camera(self, camera_id: str) -> None:
        self._execute(self._core.delete_camera(camera_id))

    def camera_snapshot(self, camera_id: str) -> bytes:
        """The latest annotated frame, as JPEG bytes. ConflictError while the camera has none
        yet (or is inactive), ServerError (503) while it is down."""
        return self._execute(self._core.camera_snapshot(camera_id))

    def camera_view_token(self, camera_id: str) -> models.CameraViewToken:
        """A short-lived token, and URLs with it, that let an `<img>` show the camera."""
        return self._execute(self._core.camera_view_token(camera_id))

    def iter_camera_events(
        self, camera_id: str | None = None, *, last_event_id: str | None = None
    ) -> Generator[ServerEvent]:
        """Camera events as they are published, of one camera or of all yours, forever: after
        a dropped connection it reconnects with the last event's id, so nothing is missed or
        repeated. `last_event_id` resumes after an earlier event (its `id`). Ends when the
        camera is deleted; a 401 or 404 on reconnecting raises. `close()` it to stop early."""
        follower = EventFollower(camera_id, last_event_id)
        while not follower.ended:
            try:
                with self._stream(follower.call(self._core)) as response:
                    follower.connected()
                    parser = SSEParser()
                    for line in response.iter_lines():
                        event = parser.feed(line)
                        if event is not None and follower.observe(event):
                            yield event
                        if follower.ended:
                            return
            except httpx.TransportError:
                if not follower.was_connected:
                    raise
            time.sleep(follower.next_pause())

    def search_events(
        self,
        *,
        camera_id: str | None = None,
        event_type: str | None = None,
        plate: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> models.Page[models.CameraEvent]:
        """Plate reads (`anpr`), watchlist matches and state changes (`status`) of your
        cameras, newest first; `plate` matches exactly once normalised; `since`/`until` must be
        time-zone aware."""
        call = self._core.search_events(camera_id, event_type, plate, since, until, page, page_size)
        return self._execute(call)
