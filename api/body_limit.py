"""Request bodies have a size limit on every route, checked before the application reads them.

FastAPI reads a JSON or form body whole, and before any dependency (rate limits,
authentication) runs; without a limit a client could make the API hold any amount of memory.
A body whose Content-Length is over the route's limit is refused at once, unread; a body sent
without one (chunked) is counted as it streams and refused once it passes the limit. Either way
the answer is 413 in Vigil's error shape. The upload routes get the bound their streaming parser
already enforces (api/jobs/upload.py) plus a margin, so that its more precise answer comes first."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from api.jobs.upload import ENVELOPE_ALLOWANCE
from shared.contracts import API_PREFIX
from shared.settings import Settings, get_settings

# Past the upload parser's own bound, so that the parser is the one to refuse an upload.
UPLOAD_MARGIN = 64 * 1024


def upload_limits(settings: Settings) -> dict[str, int]:
    """The body limit of each upload route, by path (its compatibility alias included)."""
    image, video = settings.max_image_bytes, settings.max_video_bytes
    files = {
        f"{API_PREFIX}/process/image": image,
        f"{API_PREFIX}/process/video": video,
        f"{API_PREFIX}/tasks/video-objects-detection/": video,
        "/tasks/video-objects-detection/": video,
        f"{API_PREFIX}/process/batch": settings.max_batch_files * max(image, video),
    }
    return {path: size + ENVELOPE_ALLOWANCE + UPLOAD_MARGIN for path, size in files.items()}


class BodyTooLargeError(HTTPException):
    """Raised to the application from `receive` once a streamed body passes its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


def _detail(limit: int) -> str:
    return f"the request body is larger than this route accepts ({limit} bytes)"


async def _refuse(scope: Scope, limit: int, send: Send) -> None:
    response = error_response(
        413, "payload_too_large", _detail(limit), {"Connection": "close"}, max_bytes=limit
    )

    async def nothing_to_read() -> Message:  # the rest of the body is never read
        return {"type": "http.disconnect"}

    await response(scope, nothing_to_read, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server has already refused a malformed Content-Length.
            return int(value)
    return None


class BodySizeLimitMiddleware:
    """Pure ASGI, so that bodies keep streaming to the routes that stream them (uploads)."""

    def __init__(self, app: ASGIApp) -> None:
        settings = get_settings()
        self.app = app
        self.default_limit = settings.max_body_bytes
        self.limits: Mapping[str, int] = upload_limits(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default_limit)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, limit, send)
            return
        await _Guard(scope, limit, receive, send).run(self.app)


class _Guard:
    """One request: counts its body as the application reads it and, once past the limit,
    fails the read and makes sure the answer is a 413, whatever the application made of it."""

    def __init__(self, scope: Scope, limit: int, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.limit = limit
        self.received = 0
        self.exceeded = False
        self.started = False
        self.replaced = False
        self._receive = receive
        self._send = send

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except BodyTooLargeError:
            if self.replaced:
                return
            if self.started:
                raise
            await _refuse(self.scope, self.limit, self._send)

    async def receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLargeError(self.limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise BodyTooLargeError(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.exceeded:
                # The application turned the failed read into some other answer (FastAPI
                # makes it a 400 "error parsing the body"): the client gets the real reason.
                self.replaced = True
                await _refuse(self.scope, self.limit, self._send)
                return
            self.started = True
        elif self.replaced:
            return
        await self._send(message)
