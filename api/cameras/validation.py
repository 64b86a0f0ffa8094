"""A camera as sent, made into a camera as stored: its parameters validated as the runner will
validate them (and able to run), its source parsed and checked (an RTSP host must resolve to
an address cameras may be at, a file must lie under VIGIL_CAMERA_FILE_ROOT), its credentials
split out of the URL and encrypted. Every refusal is a 422 naming the field."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.cameras.schemas import CameraConfig, CameraCreate
from api.errors import describe_fields, field_errors
from api.text import NUL_MESSAGE, nul_location
from shared.cameras.params import CameraParams
from shared.cameras.secrets import encrypt
from shared.cameras.source import (
    check_file_source,
    check_query,
    check_stream_address,
    parse_source,
)
from shared.errors import UnprocessableError
from shared.params import validation_context
from shared.repositories.cameras import NewCamera
from shared.settings import get_settings

T = TypeVar("T")
Body = TypeVar("Body", bound=BaseModel)

PARAMETERS = "parameters"
# Resolving a camera's host blocks a thread for as long as the resolver takes, and no deadline
# can interrupt it. The checks run on threads of their own, outside the pool every request
# needs, and a check past its deadline is answered 422 at once while its thread runs on until
# the resolver returns: never abandoned, so the checks hold CHECK_THREADS threads at most,
# however slow the resolver.
CHECK_THREADS = 16
_CHECK_POOL = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="camera-check")
# One request's checks run this many at a time, each until its thread returns: a long list of
# slow hosts holds a few of the threads, and the other requests' checks still get theirs.
CHECKS_PER_REQUEST = 4
# One check's deadline, from when its thread starts: waiting for a thread is not on the clock,
# so other requests' slow hosts cannot make a check fail.
CHECK_TIMEOUT_S = 5.0
# How long a request's checks may wait for their turns, all together: the cameras whose check
# could not start by then are refused unchecked, so that a long list of slow hosts is answered
# within about this long rather than in a time that grows with the list.
CHECKS_WAIT_S = 30.0


class CameraValidationError(UnprocessableError):
    """A camera object that does not fit its schema: the code FastAPI's own validation of a
    body answers with."""

    code = "validation_error"


def _invalid(exc: ValidationError, prefix: tuple[str, ...] = ()) -> CameraValidationError:
    fields = field_errors([dict(error) for error in exc.errors()], prefix)
    return CameraValidationError(describe_fields(fields), extra={"fields": fields})


def invalid_field(field: str, message: str) -> CameraValidationError:
    return CameraValidationError(
        f"{field}: {message}", extra={"fields": [{"field": field, "message": message}]}
    )


def parse_body(model: type[Body], raw: dict[str, Any]) -> Body:
    """A camera body validated as FastAPI validates one, and with the plate regions this
    server knows (VIGIL_PLATE_FORMATS), which FastAPI's own body validation cannot be given."""
    try:
        return model.model_validate(raw, context=validation_context(get_settings().plate_formats))
    except ValidationError as exc:
        raise _invalid(exc) from None


def parse_camera(raw: dict[str, Any]) -> CameraCreate:
    """One camera object of a POST body."""
    return parse_body(CameraCreate, raw)


def stored_params(params: CameraParams) -> dict[str, Any]:
    """The parameters as stored: what was given, by field name, as the runner re-validates
    them. Refused unless they survive that round trip and map onto an analysis that can run,
    so a camera that cannot start is refused here rather than failing on its runner."""
    stored = params.model_dump(mode="json", exclude_unset=True)
    # Stored as jsonb, which refuses the NUL character.
    where = nul_location(stored, (PARAMETERS,))
    if where is not None:
        raise invalid_field(".".join(str(part) for part in where), NUL_MESSAGE)
    context = validation_context(get_settings().plate_formats)
    try:
        CameraParams.model_validate(stored, context=context).job_params(context)
    except ValidationError as exc:
        raise _invalid(exc, (PARAMETERS,)) from None
    return stored


def _signalling(
    loop: asyncio.AbstractEventLoop, started: asyncio.Event, check: Callable[..., T], args: Any
) -> T:
    """Runs on a check thread: says it has started, then checks."""
    loop.call_soon_threadsafe(started.set)
    return check(*args)


class SourceChecks:
    """The checks of one request's camera sources, on the check threads: CHECKS_PER_REQUEST at
    a time, none started after CHECKS_WAIT_S, each answered within CHECK_TIMEOUT_S of its
    start."""

    def __init__(self) -> None:
        self._turns = asyncio.Semaphore(CHECKS_PER_REQUEST)
        self._turns_until = time.monotonic() + CHECKS_WAIT_S

    async def run(self, check: Callable[..., T], *args: Any) -> T:
        await self._turn()
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        future = loop.run_in_executor(_CHECK_POOL, _signalling, loop, started, check, args)
        future.add_done_callback(self._returned)
        try:
            await started.wait()
        except asyncio.CancelledError:
            future.cancel()  # if still queued, it never starts
            raise
        try:
            # Shielded: at the deadline the request stops waiting, the thread runs on.
            return await asyncio.wait_for(asyncio.shield(future), CHECK_TIMEOUT_S)
        except TimeoutError:
            raise UnprocessableError(
                f"stream_url: could not be checked within {CHECK_TIMEOUT_S:g} s (its host "
                "does not resolve in time)"
            ) from None

    def _returned(self, future: asyncio.Future[Any]) -> None:
        """The turn comes back when the thread returns, not when the request stops waiting."""
        self._turns.release()
        if not future.cancelled():
            # Read, so that the outcome of a check nobody waits for any more is not logged as
            # an exception never retrieved.
            future.exception()

    async def _turn(self) -> None:
        try:
            await asyncio.wait_for(self._turns.acquire(), self._turns_until - time.monotonic())
        except TimeoutError:
            raise UnprocessableError(
                f"stream_url: not checked: the checks of this request's other cameras took "
                f"the {CHECKS_WAIT_S:g} s they may take (their hosts resolve slowly); send "
                "fewer cameras at once"
            ) from None


@dataclass(frozen=True)
class CheckedSource:
    url: str
    credentials_enc: str | None


async def checked_source(stream_url: str, checks: SourceChecks | None = None) -> CheckedSource:
    """The source as stored; `checks` are the request's, when it has several cameras."""
    checks = checks or SourceChecks()
    source = parse_source(stream_url)
    settings = get_settings()
    if source.is_file:
        path = await checks.run(check_file_source, source, settings.camera_file_root)
        # The resolved file, so that the runner opens what was checked.
        return CheckedSource(path.as_uri(), None)
    check_query(source)
    await checks.run(check_stream_address, source, settings.camera_allowed_networks)
    credentials = encrypt(source.credentials) if source.credentials is not None else None
    return CheckedSource(source.url, credentials)


async def new_camera(
    camera_id: str, config: CameraConfig, checks: SourceChecks | None = None
) -> NewCamera:
    params = stored_params(config.parameters)
    source = await checked_source(config.stream_url, checks)
    return NewCamera(
        camera_id=camera_id,
        name=config.name,
        desired_state=config.status,
        stream_url=source.url,
        credentials_enc=source.credentials_enc,
        params=params,
    )
