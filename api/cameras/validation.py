"""A camera as sent, made into a camera as stored: its parameters validated as the runner will
validate them (and able to run), its source parsed and checked (an RTSP host must resolve to
an address cameras may be at, a file must lie under VIGIL_CAMERA_FILE_ROOT), its credentials
split out of the URL and encrypted. Every refusal is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import ValidationError

from api.cameras.schemas import CameraConfig, CameraCreate
from api.errors import describe_fields, field_errors
from api.text import NUL_MESSAGE, nul_location
from shared.cameras.params import CameraParams
from shared.cameras.secrets import encrypt
from shared.cameras.source import check_file_source, check_stream_address, parse_source
from shared.errors import UnprocessableError
from shared.params import validation_context
from shared.repositories.cameras import NewCamera
from shared.settings import get_settings

T = TypeVar("T")

PARAMETERS = "parameters"
# Resolving a camera's host blocks a thread for as long as DNS takes: the checks get threads of
# their own, so that a list of unresolvable hosts cannot take the pool every request needs,
# and a deadline, so that a slow resolver answers 422 rather than holding the request.
_CHECK_THREADS = anyio.CapacityLimiter(16)
CHECK_TIMEOUT_S = 5.0


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


def parse_camera(raw: dict[str, Any]) -> CameraCreate:
    """One camera object of a POST body, validated as FastAPI validates a body."""
    try:
        return CameraCreate.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None


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


async def _in_thread(check: Callable[..., T], *args: Any) -> T:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            return await anyio.to_thread.run_sync(
                check, *args, limiter=_CHECK_THREADS, abandon_on_cancel=True
            )
    except TimeoutError:
        raise UnprocessableError(
            f"stream_url: could not be checked within {CHECK_TIMEOUT_S:g} s (its host does "
            "not resolve in time)"
        ) from None


@dataclass(frozen=True)
class CheckedSource:
    url: str
    credentials_enc: str | None


async def checked_source(stream_url: str) -> CheckedSource:
    source = parse_source(stream_url)
    settings = get_settings()
    if source.is_file:
        path = await _in_thread(check_file_source, source, settings.camera_file_root)
        # The resolved file, so that the runner opens what was checked.
        return CheckedSource(path.as_uri(), None)
    await _in_thread(check_stream_address, source, settings.camera_allowed_networks)
    credentials = encrypt(source.credentials) if source.credentials is not None else None
    return CheckedSource(source.url, credentials)


async def new_camera(camera_id: str, config: CameraConfig) -> NewCamera:
    params = stored_params(config.parameters)
    source = await checked_source(config.stream_url)
    return NewCamera(
        camera_id=camera_id,
        name=config.name,
        desired_state=config.status,
        stream_url=source.url,
        credentials_enc=source.credentials_enc,
        params=params,
    )
