"""From a claimed row to a camera ready to start: its parameters validated, its source checked
again (the host's addresses may have changed since registration), its credentials decrypted
into the capture's URL, its owner's watchlist loaded. Whatever makes the camera unrunnable as
configured comes back as an `error` camera with a redacted reason, never as an exception."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from shared.cameras.params import CameraParams
from shared.cameras.secrets import decrypt
from shared.cameras.source import (
    check_file_source,
    check_stream_address,
    parse_source,
    redact,
    with_credentials,
)
from shared.configured import params_context
from shared.errors import UnprocessableError
from shared.repositories import watchlist
from shared.repositories.camera_leases import ClaimedCamera
from shared.settings import Settings
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import CaptureSpec
from worker.cameras.feed import Feed
from worker.cameras.redaction import RedactingFilter
from worker.cameras.status import StatusTracker
from worker.engine.outputs import WatchEntry


def capture_spec(claimed: ClaimedCamera, params: CameraParams, settings: Settings) -> CaptureSpec:
    """What the capture opens (blocking: it resolves the camera's host). The credentials go
    into the URL and, as secrets to redact, into the spec, and nowhere else."""
    source = parse_source(claimed.stream_url)
    label = claimed.camera_id
    if source.is_file:
        path = check_file_source(source, settings.camera_file_root)
        return CaptureSpec(url=str(path), is_file=True, label=label)
    check_stream_address(source, settings.camera_allowed_networks)
    credentials = decrypt(claimed.credentials_enc) if claimed.credentials_enc else None
    secrets = (credentials.password, credentials.username) if credentials else ()
    return CaptureSpec(
        url=with_credentials(source.url, credentials),
        is_file=False,
        transport=params.rtsp_transport,
        open_timeout_s=settings.camera_open_timeout_s,
        read_timeout_s=settings.camera_read_timeout_s,
        secrets=tuple(secret for secret in secrets if secret),
        label=label,
    )


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"parameters: {where}: {first['msg']}" if where else f"parameters: {first['msg']}"
    return redact(str(exc))


async def open_camera(
    claimed: ClaimedCamera, settings: Settings, log_filter: RedactingFilter
) -> LiveCamera:
    """The camera, its feed not started yet; `error` says why when it cannot run."""
    params = CameraParams()
    try:
        params = CameraParams.model_validate(claimed.params)
        job = params.job_params(params_context(settings))
        spec = await asyncio.to_thread(capture_spec, claimed, params, settings)
    except (ValueError, UnprocessableError) as exc:  # CredentialsKeyError is a ValueError
        camera = LiveCamera(claimed, params, None, (), None, StatusTracker())
        camera.error = _problem(exc)
        return camera
    log_filter.remember(spec.secrets)
    entries: tuple[WatchEntry, ...] = ()
    if job.detector("plates") is not None:
        found = await watchlist.entries_for_matching(claimed.owner_id)
        entries = tuple(WatchEntry(kind, pattern, label) for kind, pattern, label in found)
    feed = Feed(spec, stall_timeout_s=params.stall_timeout_s)
    return LiveCamera(claimed, params, job, entries, feed, StatusTracker())
