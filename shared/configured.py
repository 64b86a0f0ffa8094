"""The settings as the domain reads them. shared/settings.py imports nothing of the project, so
what only the domain can judge is checked here, by each process as it starts, for the settings
it uses: a refusal is a ValueError naming the variable, and the process does not start. Here
too: the plate formats and warm-up detectors that apply when the operator set none, and the
context that validates a job's params against this server's plate regions."""

from __future__ import annotations

from typing import Any

from shared.cameras.secrets import check_key
from shared.cameras.source import check_camera_networks
from shared.params import DETECTOR_KINDS, validation_context
from shared.plates import PlateFormats, check_formats, configured_formats
from shared.settings import Settings
from shared.webhooks.destinations import parse_allow_list


def plate_formats(settings: Settings) -> PlateFormats:
    return configured_formats(settings.plate_formats)


def warmup_detectors(settings: Settings) -> list[str]:
    if settings.warmup_detectors is None:
        return list(DETECTOR_KINDS)
    return settings.warmup_detectors


def params_context(settings: Settings) -> dict[str, Any]:
    """For `JobParams.model_validate(data, context=params_context(settings))`: a job may name
    the regions of this server's plate formats."""
    return validation_context(settings.plate_formats)


def check_plates(settings: Settings) -> None:
    formats = plate_formats(settings)
    try:
        check_formats(formats)
    except ValueError as exc:
        raise ValueError(f"VIGIL_PLATE_FORMATS: {exc}") from exc
    if settings.plate_region is not None and settings.plate_region not in formats:
        raise ValueError(
            f"VIGIL_PLATE_REGION {settings.plate_region!r} is not a region of "
            f"VIGIL_PLATE_FORMATS ({', '.join(formats)})"
        )


def check_warmup_detectors(settings: Settings) -> None:
    unknown = sorted(set(warmup_detectors(settings)) - set(DETECTOR_KINDS))
    if unknown:
        raise ValueError(
            f"VIGIL_WARMUP_DETECTORS names unknown detectors: {', '.join(unknown)} "
            f"(known: {', '.join(DETECTOR_KINDS)})"
        )


def check_webhook_destinations(settings: Settings) -> None:
    """VIGIL_WEBHOOK_ALLOWED_NETWORKS and VIGIL_WEBHOOK_PUBLIC_PORTS, each error naming its
    variable."""
    parse_allow_list(settings.webhook_allowed_networks, settings.webhook_public_ports)


def check_cameras(settings: Settings) -> None:
    """VIGIL_CAMERA_ALLOWED_NETWORKS and VIGIL_CAMERA_SECRETS_KEY: a bad value would otherwise
    surface as failed registrations, or cameras that cannot open their credentials."""
    check_camera_networks(settings.camera_allowed_networks)
    check_key(settings)


def check_api_settings(settings: Settings) -> None:
    """The API validates jobs' plate regions, vets webhook URLs and registers cameras."""
    check_plates(settings)
    check_webhook_destinations(settings)
    check_cameras(settings)


def check_camera_runner_settings(settings: Settings) -> None:
    """A camera runner analyses like a worker and opens the cameras' credentials."""
    check_worker_settings(settings)
    check_cameras(settings)


def check_worker_settings(settings: Settings) -> None:
    """The analysis worker reads plates and warms detectors up."""
    check_plates(settings)
    check_warmup_detectors(settings)


def check_webhook_sender_settings(settings: Settings) -> None:
    """The webhook sender vets each destination again before sending."""
    check_webhook_destinations(settings)


PROCESS_CHECKS = (
    check_api_settings,
    check_worker_settings,
    check_webhook_sender_settings,
    check_camera_runner_settings,
)
