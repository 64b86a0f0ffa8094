"""The asyncio client: Client's methods, awaited (see Client for what each one does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
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


class AsyncClient:
    """Vigil's REST API for asyncio code; the same methods and errors as `Client`."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        timeout: float | None = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = Core(base_url, api_key, access_token)
        self._http = httpx.AsyncClient(transport=transport, **self._core.http_options(timeout))
        self._refresh_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # I/O: the only part that differs from Client

    async def _send_once(self, call: Call[Any]) -> httpx.Response:
        with self._core.request(call, self._http) as request:
            response = await self._http.send(request, stream=call.stream)
        if call.stream and response.is_error:
            await response.aread()
        return response

    async def _send(self, call: Call[Any]) -> httpx.Response:
        token = self._core.access_token
        response = await self._send_once(call)
        if self._core.should_refresh(call, response):
            await response.aclose()
            async with self._refresh_lock:
                # Concurrent requests that all got a 401 refresh once: a second refresh with
                # the same (now used) refresh token would revoke the whole sign-in.
                if self._core.access_token == token:
                    await self._execute(self._core.refresh())
            response = await self._send_once(call)
        return response

    async def _execute(self, call: Call[T]) -> T:
        return call.parse(await self._send(call))

    @asynccontextmanager
    async def _stream(self, call: Call[httpx.Response]) -> AsyncIterator[httpx.Response]:
        response = await self._send(call)
        try:
            yield call.parse(response)
        finally:
            await response.aclose()

    # auth and account

    async def signup(self, email: str, password: str, full_name: str | None = None) -> models.User:
        return await self._execute(self._core.signup(email, password, full_name))

    async def signin(self, email: str, password: str) -> models.TokenPair:
        return await self._execute(self._core.signin(email, password))

    async def me(self) -> models.User:
        return await self._execute(self._core.me())

    async def audit_events(
        self, page: int = 1, page_size: int = 50
    ) -> models.Page[models.AuditEvent]:
        return await self._execute(self._core.audit_events(page, page_size))

    async def create_api_key(
        self,
        name: str,
        *,
        scopes: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> models.ApiKeyCreated:
        return await self._execute(self._core.create_api_key(name, scopes, expires_at))

    async def list_api_keys(self, include_revoked: bool = False) -> list[models.ApiKey]:
        return await self._execute(self._core.list_api_keys(include_revoked))

    async def revoke_api_key(self, key_id: Id) -> None:
        await self._execute(self._core.revoke_api_key(key_id))

    # jobs

    async def submit(
        self, path: str | Path, params: Params | None = None, *, callback_url: str | None = None
    ) -> models.JobAccepted | models.ImageResult:
        return await self._execute(self._core.submit(Path(path), params, callback_url))

    async def submit_batch(
        self,
        paths: Sequence[str | Path],
        params: Params | None = None,
        *,
        callback_url: str | None = None,
    ) -> models.BatchResult:
        call = self._core.submit_batch([Path(p) for p in paths], params, callback_url)
        return await self._execute(call)

    async def status(self, job_id: Id) -> models.JobStatus:
        return await self._execute(self._core.status(job_id))

    async def wait(
        self,
        job_id: Id,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the same signature as Client.wait)
        poll_interval: float = 1.0,
        progress: bool | ProgressCallback = False,
    ) -> models.JobStatus:
        with Waiter(str(job_id), timeout, poll_interval, progress) as waiter:
            while True:
                status = await self.status(job_id)
                if waiter.observe(status):
                    return status
                await asyncio.sleep(waiter.delay())

    async def events(self, job_id: Id) -> AsyncIterator[ServerEvent]:
        parser = SSEParser()
        async with self._stream(self._core.events(job_id)) as response:
            async for line in response.aiter_lines():
                if (event := parser.feed(line)) is not None:
                    yield event

    async def results(self, job_id: Id, page: int = 1, page_size: int = 100) -> models.JobResults:
        return await self._execute(self._core.results(job_id, page, page_size))

    async def iter_frames(self, job_id: Id, *, page_size: int = 500) -> AsyncIterator[models.Frame]:
        page: int | None = 1
        while page is not None:
            results = await self.results(job_id, page, page_size)
            for frame in results.frames:
                yield frame
            page = results.next_page

    async def download_annotated(self, job_id: Id, dest: str | Path) -> Path:
        async with self._stream(self._core.annotated(job_id)) as response:
            with Download(response, Path(dest), job_id) as download:
                async for chunk in response.aiter_bytes():
                    download.write(chunk)
        return download.path

    async def list_jobs(
        self, status: str | None = None, page: int = 1, page_size: int = 20
    ) -> models.Page[models.JobSummary]:
        return await self._execute(self._core.list_jobs(status, page, page_size))

    async def delete_job(self, job_id: Id) -> None:
        await self._execute(self._core.delete_job(job_id))

    async def job_deliveries(
        self, job_id: Id, page: int = 1, page_size: int = 20
    ) -> models.Page[models.WebhookDelivery]:
        return await self._execute(self._core.job_deliveries(job_id, page, page_size))

    # webhooks

    async def create_webhook(
        self, url: str, event_types: Sequence[str], description: str | None = None
    ) -> models.WebhookCreated:
        return await self._execute(self._core.create_webhook(url, event_types, description))

    async def list_webhooks(self) -> list[models.Webhook]:
        return await self._execute(self._core.list_webhooks())

    async def get_webhook(self, webhook_id: Id) -> models.Webhook:
        return await self._execute(self._core.get_webhook(webhook_id))

    async def update_webhook(
        self,
        webhook_id: Id,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        is_active: bool | None = None,
    ) -> models.Webhook:
        changes = webhook_changes(url, event_types, description, is_active)
        return await self._execute(self._core.update_webhook(webhook_id, changes))

    async def delete_webhook(self, webhook_id: Id) -> None:
        await self._execute(self._core.delete_webhook(webhook_id))

    async def rotate_webhook_secret(self, webhook_id: Id) -> str:
        return await self._execute(self._core.rotate_webhook_secret(webhook_id))

    async def webhook_deliveries(
        self, webhook_id: Id, status: str | None = None, page: int = 1, page_size: int = 20
    ) -> models.Page[models.WebhookDelivery]:
        call = self._core.webhook_deliveries(webhook_id, status, page, page_size)
        return await self._execute(call)

    async def get_delivery(self, delivery_id: Id) -> models.WebhookDeliveryDetail:
        return await self._execute(self._core.get_delivery(delivery_id))

    async def redeliver(self, delivery_id: Id) -> models.WebhookDelivery:
        return await self._execute(self._core.redeliver(delivery_id))

    async def create_callback_secret(self) -> str:
        return await self._execute(self._core.create_callback_secret())

    # watchlist

    async def add_watch(
        self, plate: str, kind: str = "exact", label: str | None = None
    ) -> models.WatchlistEntry:
        return await self._execute(self._core.add_watch(plate, kind, label))

    async def list_watchlist(self) -> list[models.WatchlistEntry]:
        return await self._execute(self._core.list_watchlist())

    async def delete_watch(self, entry_id: Id) -> None:
        await self._execute(self._core.delete_watch(entry_id))

    # cameras

    async def add_camera(
        self,
        camera_id: str,
        stream_url: str,
        *,
        name: str | None = None,
        parameters: Params | None = None,
        active: bool = True,
    ) -> models.Camera:
        fields = camera_fields(camera_id, stream_url, name, parameters, active)
        return await self._execute(self._core.add_camera(fields))

    async def add_cameras(self, cameras: Sequence[Mapping[str, Any]]) -> models.CameraBatch:
        return await self._execute(self._core.add_cameras(cameras))

    async def list_cameras(
        self,
        *,
        state: str | None = None,
        status: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> models.Page[models.Camera]:
        return await self._execute(self._core.list_cameras(state, status, page, page_size))

    async def get_camera(self, camera_id: str) -> models.Camera:
        return await self._execute(self._core.get_camera(camera_id))

    async def update_camera(
        self,
        camera_id: str,
        *,
        name: str | None = None,
        stream_url: str | None = None,
        parameters: Params | None = None,
        status: str | None = None,
    ) -> models.Camera:
        changes = camera_changes(name, stream_url, parameters, status)
        return await self._execute(self._core.update_camera(camera_id, changes))

    async def delete_camera(self, camera_id: str) -> None:
        await self._execute(self._core.delete_camera(camera_id))

    async def camera_snapshot(self, camera_id: str) -> bytes:
        return await self._execute(self._core.camera_snapshot(camera_id))

    async def camera_view_token(self, camera_id: str) -> models.CameraViewToken:
        return await self._execute(self._core.camera_view_token(camera_id))

    async def iter_camera_events(
        self, camera_id: str | None = None, *, last_event_id: str | None = None
    ) -> AsyncGenerator[ServerEvent]:
        follower = EventFollower(camera_id, last_event_id)
        while not follower.ended:
            try:
                async with self._stream(follower.call(self._core)) as response:
                    follower.connected()
                    parser = SSEParser()
                    async for line in response.aiter_lines():
                        event = parser.feed(line)
                        if event is not None and follower.observe(event):
                            yield event
                        if follower.ended:
                            return
            except httpx.TransportError:
                if not follower.was_connected:
                    raise
            await asyncio.sleep(follower.next_pause())

    async def search_events(
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
        call = self._core.search_events(camera_id, event_type, plate, since, until, page, page_size)
        return await self._execute(call)
