"""From a claimed row to a camera ready to start: its parameters validated (against this
server's plate regions, as when they were stored), its credentials decrypted into the capture's
URL, its owner's watchlist loaded, its source checked again (the host's addresses may have changed
since registration).

What makes the camera unrunnable as configured (its parameters, credentials that do not decrypt,
an address or a path the policy refuses) comes back as an `error` camera with a redacted reason,
never as an exception. What may well be brief (a host that does not resolve, a file that is not
there) is left to the Feed: the same check runs before every capture it starts, and a refusal
there is a failed capture like any other, retried with backoff, its reason in `last_error`."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from functools import partial

from pydantic import ValidationError

from shared.cameras.params import CameraParams
from shared.cameras.secrets import decrypt
from shared.cameras.source import (
    CameraSource,
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


def source_check(source: CameraSource, settings: Settings) -> Callable[[], object]:
    """The check that each capture of `source` runs before it opens it (blocking: it resolves
    the host): the address policy on the addresses the name has then, so that a name pointed
    elsewhere since registration, or between two reconnects, never takes a capture there; for a
    file, that it is still there, under VIGIL_CAMERA_FILE_ROOT."""
    if source.is_file:
        return partial(check_file_source, source, settings.camera_file_root)
    return partial(check_stream_address, source, settings.camera_allowed_networks)


def may_pass_later(source: CameraSource, settings: Settings) -> bool:
    """Whether a refusal of `source` may well be brief: its host does not resolve now, or its
    file is not there now (rather than an address or a path the policy refuses)."""
    if source.is_file:
        assert source.path is not None
        return settings.camera_file_root is not None and not source.path.exists()
    try:
        socket.getaddrinfo(source.host, source.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return True
    return False


def capture_spec(claimed: ClaimedCamera, params: CameraParams, settings: Settings) -> CaptureSpec:
    """What the capture opens (blocking: it checks the source once). The credentials go into
    the URL and, as secrets to redact, into the spec, and nowhere else. UnprocessableError when
    the policy refuses the source."""
    source = parse_source(claimed.stream_url)
    check = source_check(source, settings)
    try:
        check()
    except UnprocessableError:
        if not may_pass_later(source, settings):
            raise
    label = claimed.camera_id
    if source.is_file:
        # Stored resolved (links followed) when the camera was registered.
        return CaptureSpec(url=str(source.path), is_file=True, label=label, check=check)
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
        check=check,
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
        context = params_context(settings)
        params = CameraParams.load(claimed.params, context)
        job = params.job_params(context)
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
