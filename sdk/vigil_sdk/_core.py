"""Everything the sync and async clients share: each API operation as a `Call` (the request to
make and how to read its answer), the credentials, and downloads. The clients only do the I/O."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel, TypeAdapter

from vigil_sdk import models
from vigil_sdk.errors import raise_for_error
from vigil_sdk.sse import ServerEvent
from vigil_sdk.uploads import upload_type
from vigil_sdk.version import __version__

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"

Id = UUID | str
Params = Mapping[str, Any]


def api_root(base_url: str) -> str:
    """The API's root from the service's address; an address ending in /api/v1 is taken as is."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def _segment(value: Id) -> str:
    return quote(str(value), safe="")


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        raise_for_error(response)
        return model.model_validate(response.json())

    return parse


def _items(model: type[M], key: str | None = "items") -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[M]:
        raise_for_error(response)
        body = response.json()
        items: list[M] = adapter.validate_python(body if key is None else body[key])
        return items

    return parse


def _secret(response: httpx.Response) -> str:
    raise_for_error(response)
    return str(response.json()["secret"])


def _nothing(response: httpx.Response) -> None:
    raise_for_error(response)


def _checked(response: httpx.Response) -> httpx.Response:
    raise_for_error(response)
    return response


def _submission(response: httpx.Response) -> models.JobAccepted | models.ImageResult:
    raise_for_error(response)
    body = response.json()
    # An image answered within the request carries its result; anything else is a queued job.
    if "success" in body:
        return models.ImageResult.model_validate(body)
    return models.JobAccepted.model_validate(body)


def _form(params: Params | None, callback_url: str | None) -> dict[str, str]:
    form = {"params": json.dumps(dict(params))} if params else {}
    if callback_url is not None:
        form["callback_url"] = callback_url
    return form


def _query(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class Upload:
    field: str
    path: Path
    content_type: str


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how its answer becomes a `T` (raising VigilError for an error)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    uploads: tuple[Upload, ...] = ()
    authenticated: bool = True
    stream: bool = False
    headers: dict[str, str] | None = None


class Core:
    """Credentials and the calls. Tokens from `signin` (and each refresh) are kept here, so a
    client refreshes an expired access token once and retries."""

    def __init__(self, base_url: str, api_key: str | None, access_token: str | None) -> None:
        self.base_url = api_root(base_url)
        self.api_key = api_key
        self.access_token = access_token
        self.refresh_token: str | None = None

    def http_options(self, timeout: float | None) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": timeout,
            "headers": {"user-agent": f"vigil-sdk/{__version__}"},
        }

    def _headers(self, call: Call[Any]) -> dict[str, str]:
        if not call.authenticated:
            return {}
        if self.access_token:
            return {"authorization": f"Bearer {self.access_token}"}
        return {"x-api-key": self.api_key} if self.api_key else {}

    @contextmanager
    def request(
        self, call: Call[Any], http: httpx.Client | httpx.AsyncClient
    ) -> Iterator[httpx.Request]:
        """The request, with its files open until the block ends (after it has been sent)."""
        with ExitStack() as stack:
            files = [
                (u.field, (u.path.name, stack.enter_context(u.path.open("rb")), u.content_type))
                for u in call.uploads
            ]
            yield http.build_request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                data=call.data,
                files=files or None,
                headers=self._headers(call) | (call.headers or {}),
            )

    def should_refresh(self, call: Call[Any], response: httpx.Response) -> bool:
        return response.status_code == 401 and call.authenticated and bool(self.refresh_token)

    def _store_tokens(self, response: httpx.Response) -> models.TokenPair:
        pair = _model(models.TokenPair)(response)
        self.access_token, self.refresh_token = pair.access_token, pair.refresh_token
        return pair

    # auth and account

    def signup(self, email: str, password: str, full_name: str | None) -> Call[models.User]:
        body = {"email": email, "password": password, "full_name": full_name}
        return Call("POST", "/auth/signup", _model(models.User), json=body, authenticated=False)

    def signin(self, email: str, password: str) -> Call[models.TokenPair]:
        form = {"username": email, "password": password}
        return Call("POST", "/auth/signin", self._store_tokens, data=form, authenticated=False)

    def refresh(self) -> Call[models.TokenPair]:
        body = {"refresh_token": self.refresh_token}
        return Call(
            "POST", "/auth/token-refresh", self._store_tokens, json=body, authenticated=False
        )

    def me(self) -> Call[models.User]:
        return Call("GET", "/me", _model(models.User))

    def audit_events(self, page: int, page_size: int) -> Call[models.Page[models.AuditEvent]]:
        query = _query(page=page, page_size=page_size)
        return Call("GET", "/me/audit-events", _model(models.Page[models.AuditEvent]), params=query)

    def create_api_key(
        self, name: str, scopes: Sequence[str] | None, expires_at: datetime | None
    ) -> Call[models.ApiKeyCreated]:
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return Call("POST", "/api-keys", _model(models.ApiKeyCreated), json=body)

    def list_api_keys(self, include_revoked: bool) -> Call[list[models.ApiKey]]:
        # One page holds every live key (the server allows 100), revoked ones may need more.
        query = _query(include_revoked=include_revoked or None, page_size=100)
        return Call("GET", "/api-keys", _items(models.ApiKey), params=query)

    def revoke_api_key(self, key_id: Id) -> Call[None]:
        return Call("DELETE", f"/api-keys/{_segment(key_id)}", _nothing)

    # jobs

    def submit(
        self, path: Path, params: Params | None, callback_url: str | None
    ) -> Call[models.JobAccepted | models.ImageResult]:
        found = upload_type(path)
        return Call(
            "POST",
            f"/process/{found.kind}",
            _submission,
            data=_form(params, callback_url),
            uploads=(Upload("file", path, found.content_type),),
        )

    def submit_batch(
        self, paths: Sequence[Path], params: Params | None, callback_url: str | None
    ) -> Call[models.BatchResult]:
        uploads = tuple(Upload("files", path, upload_type(path).content_type) for path in paths)
        form = _form(params, callback_url)
        return Call(
            "POST", "/process/batch", _model(models.BatchResult), data=form, uploads=uploads
        )

    def status(self, job_id: Id) -> Call[models.JobStatus]:
        return Call("GET", f"/jobs/{_segment(job_id)}/status", _model(models.JobStatus))

    def results(self, job_id: Id, page: int, page_size: int) -> Call[models.JobResults]:
        query = {"page": page, "page_size": page_size}
        return Call(
            "GET", f"/jobs/{_segment(job_id)}/results", _model(models.JobResults), params=query
        )

    def list_jobs(
        self, status: str | None, page: int, page_size: int
    ) -> Call[models.Page[models.JobSummary]]:
        query = _query(status=status, page=page, page_size=page_size)
        return Call("GET", "/jobs", _model(models.Page[models.JobSummary]), params=query)

    def delete_job(self, job_id: Id) -> Call[None]:
        return Call("DELETE", f"/jobs/{_segment(job_id)}", _nothing)

    def annotated(self, job_id: Id) -> Call[httpx.Response]:
        return Call("GET", f"/jobs/{_segment(job_id)}/annotated", _checked, stream=True)

    def events(self, job_id: Id) -> Call[httpx.Response]:
        return Call("GET", f"/jobs/{_segment(job_id)}/events", _checked, stream=True)

    def job_deliveries(
        self, job_id: Id, page: int, page_size: int
    ) -> Call[models.Page[models.WebhookDelivery]]:
        path = f"/jobs/{_segment(job_id)}/deliveries"
        query = _query(page=page, page_size=page_size)
        return Call("GET", path, _model(models.Page[models.WebhookDelivery]), params=query)

    # webhooks

    def create_webhook(
        self, url: str, event_types: Sequence[str], description: str | None
    ) -> Call[models.WebhookCreated]:
        body = {"url": url, "event_types": list(event_types), "description": description}
        return Call("POST", "/webhooks", _model(models.WebhookCreated), json=body)

    def list_webhooks(self) -> Call[list[models.Webhook]]:
        return Call("GET", "/webhooks", _items(models.Webhook))

    def get_webhook(self, webhook_id: Id) -> Call[models.Webhook]:
        return Call("GET", f"/webhooks/{_segment(webhook_id)}", _model(models.Webhook))

    def update_webhook(self, webhook_id: Id, changes: dict[str, Any]) -> Call[models.Webhook]:
        path = f"/webhooks/{_segment(webhook_id)}"
        return Call("PATCH", path, _model(models.Webhook), json=changes)

    def delete_webhook(self, webhook_id: Id) -> Call[None]:
        return Call("DELETE", f"/webhooks/{_segment(webhook_id)}", _nothing)

    def rotate_webhook_secret(self, webhook_id: Id) -> Call[str]:
        return Call("POST", f"/webhooks/{_segment(webhook_id)}/rotate-secret", _secret)

    def webhook_deliveries(
        self, webhook_id: Id, status: str | None, page: int, page_size: int
    ) -> Call[models.Page[models.WebhookDelivery]]:
        path = f"/webhooks/{_segment(webhook_id)}/deliveries"
        query = _query(status=status, page=page, page_size=page_size)
        return Call("GET", path, _model(models.Page[models.WebhookDelivery]), params=query)

    def get_delivery(self, delivery_id: Id) -> Call[models.WebhookDeliveryDetail]:
        path = f"/webhook-deliveries/{_segment(delivery_id)}"
        return Call("GET", path, _model(models.WebhookDeliveryDetail))

    def redeliver(self, delivery_id: Id) -> Call[models.WebhookDelivery]:
        path = f"/webhook-deliveries/{_segment(delivery_id)}/redeliver"
        return Call("POST", path, _model(models.WebhookDelivery))

    def create_callback_secret(self) -> Call[str]:
        return Call("POST", "/webhooks/callback-secret", _secret)

    # watchlist

    def add_watch(self, plate: str, kind: str, label: str | None) -> Call[models.WatchlistEntry]:
        body = {"plate": plate, "kind": kind, "label": label}
        return Call("POST", "/watchlist", _model(models.WatchlistEntry), json=body)

    def list_watchlist(self) -> Call[list[models.WatchlistEntry]]:
        return Call("GET", "/watchlist", _items(models.WatchlistEntry, key=None))

    def delete_watch(self, entry_id: Id) -> Call[None]:
        return Call("DELETE", f"/watchlist/{_segment(entry_id)}", _nothing)

    # cameras

    def add_cameras(self, cameras: Sequence[Mapping[str, Any]]) -> Call[models.CameraBatch]:
        body = [dict(camera) for camera in cameras]
        return Call("POST", "/cameras", _model(models.CameraBatch), json=body)

    def add_camera(self, camera: Mapping[str, Any]) -> Call[models.Camera]:
        return Call("POST", "/cameras", _model(models.Camera), json=dict(camera))

    def list_cameras(
        self, state: str | None, status: str | None, page: int, page_size: int
    ) -> Call[models.Page[models.Camera]]:
        query = _query(state=state, status=status, page=page, page_size=page_size)
        return Call("GET", "/cameras", _model(models.Page[models.Camera]), params=query)

    def get_camera(self, camera_id: str) -> Call[models.Camera]:
        return Call("GET", f"/cameras/{_segment(camera_id)}", _model(models.Camera))

    def update_camera(self, camera_id: str, changes: dict[str, Any]) -> Call[models.Camera]:
        path = f"/cameras/{_segment(camera_id)}"
        return Call("PATCH", path, _model(models.Camera), json=changes)

    def delete_camera(self, camera_id: str) -> Call[None]:
        return Call("DELETE", f"/cameras/{_segment(camera_id)}", _nothing)

    def camera_snapshot(self, camera_id: str) -> Call[bytes]:
        path = f"/cameras/{_segment(camera_id)}/snapshot.jpg"
        return Call("GET", path, lambda response: _checked(response).content)

    def camera_view_token(self, camera_id: str) -> Call[models.CameraViewToken]:
        path = f"/cameras/{_segment(camera_id)}/view-token"
        return Call("POST", path, _model(models.CameraViewToken))

    def camera_events(
        self, camera_id: str | None, last_event_id: str | None
    ) -> Call[httpx.Response]:
        path = f"/cameras/{_segment(camera_id)}/events" if camera_id else "/events/stream"
        headers = {"last-event-id": last_event_id} if last_event_id else None
        return Call("GET", path, _checked, stream=True, headers=headers)

    def search_events(
        self,
        camera_id: str | None,
        event_type: str | None,
        plate: str | None,
        since: datetime | None,
        until: datetime | None,
        page: int,
        page_size: int,
    ) -> Call[models.Page[models.CameraEvent]]:
        query = _query(
            camera_id=camera_id,
            type=event_type,
            plate=plate,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            page=page,
            page_size=page_size,
        )
        return Call("GET", "/events", _model(models.Page[models.CameraEvent]), params=query)


def camera_fields(
    camera_id: str,
    stream_url: str,
    name: str | None,
    parameters: Params | None,
    active: bool,
) -> dict[str, Any]:
    """A camera as POST /cameras takes it."""
    camera: dict[str, Any] = {
        "camera_id": camera_id,
        "stream_url": stream_url,
        "status": "active" if active else "inactive",
    }
    if name is not None:
        camera["name"] = name
    if parameters is not None:
        camera["parameters"] = dict(parameters)
    return camera


def camera_changes(
    name: str | None,
    stream_url: str | None,
    parameters: Params | None,
    status: str | None,
) -> dict[str, Any]:
    """The PATCH body: only what the caller changes (None leaves a field as it is)."""
    changes: dict[str, Any] = {"name": name, "stream_url": stream_url, "status": status}
    changes["parameters"] = None if parameters is None else dict(parameters)
    return {key: value for key, value in changes.items() if value is not None}


# Stream messages about the stream itself rather than a camera event.
_CONTROL_EVENTS = frozenset({"ready", "signed_out"})
RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 15.0


class EventFollower:
    """What `iter_camera_events` keeps across reconnections: the id of the last message, sent
    back as Last-Event-ID so that the server resumes exactly after it, and the pause before
    the next attempt (growing while the API cannot be reached)."""

    def __init__(self, camera_id: str | None, last_event_id: str | None) -> None:
        self.camera_id = camera_id
        self.last_event_id = last_event_id
        self.pause = RECONNECT_FIRST_S
        self.ended = False
        # A connection error before the stream ever ran is raised (a wrong address is better
        # told at once); once it has run, the follower reconnects whatever happens.
        self.was_connected = False

    def call(self, core: Core) -> Call[httpx.Response]:
        return core.camera_events(self.camera_id, self.last_event_id)

    def connected(self) -> None:
        self.pause = RECONNECT_FIRST_S
        self.was_connected = True

    def observe(self, event: ServerEvent) -> bool:
        """Whether to hand `event` to the caller; `ended` once the camera is gone."""
        if event["id"] is not None:
            self.last_event_id = event["id"]
        if event["event"] == "end":
            self.ended = True
            return False
        return event["event"] not in _CONTROL_EVENTS

    def next_pause(self) -> float:
        pause, self.pause = self.pause, min(self.pause * 2, RECONNECT_MAX_S)
        return pause


def webhook_changes(
    url: str | None,
    event_types: Sequence[str] | None,
    description: str | None,
    is_active: bool | None,
) -> dict[str, Any]:
    """The PATCH body: only what the caller changes (None leaves a field as it is)."""
    changes: dict[str, Any] = {"url": url, "description": description, "is_active": is_active}
    changes["event_types"] = None if event_types is None else list(event_types)
    return {name: value for name, value in changes.items() if value is not None}


class Download:
    """Writes a download to `<dest>.part` and moves it into place only once it is complete, so a
    failure never leaves half a file under the name asked for. A directory as `dest` gets the
    file named after the job."""

    def __init__(self, response: httpx.Response, dest: Path, job_id: Id) -> None:
        if dest.is_dir():
            jpeg = response.headers.get("content-type", "").startswith("image/jpeg")
            dest = dest / f"{job_id}-annotated{'.jpg' if jpeg else '.mp4'}"
        self.path = dest
        self._part = dest.with_name(dest.name + ".part")
        self._handle = self._part.open("wb")

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)

    def __enter__(self) -> Download:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._handle.close()
        if exc_type is None:
            self._part.replace(self.path)
        else:
            self._part.unlink(missing_ok=True)
