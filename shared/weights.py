"""The one message every "no weights here" failure shows: the API's preflight, the worker's
model loader and `vigil analyze` all point the user at the same fix."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import Settings

FETCH_COMMAND = "vigil models fetch"


def missing_weights_message(name: str, directory: Path, *, plate_model: bool = False) -> str:
    where = f"no model weights {name!r} in {directory.resolve()}"
    if plate_model:
        # No plate detector is published for download, so fetching cannot help here.
        return (
            f"{where}: no plate model is published for download; export your own YOLO "
            f"fine-tune with a `plate` class (`vigil models export PLATE.pt --name {name}`, "
            "see docs/plates.md) or choose another plate localisation"
        )
    return (
        f"{where}: run `{FETCH_COMMAND}` on a machine with internet access (or copy the "
        "weights there; see docs/operations.md#models), or set VIGIL_MODEL_DIR and "
        "VIGIL_MODEL_NAME to weights that exist"
    )


class WeightSettings(BaseSettings):
    """The weight settings alone, read the way Settings reads them. Fetching weights needs no
    secrets and no services, so the rest of the settings (and their production checks) must
    not stand in its way on a machine that only downloads."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_file=".env", extra="ignore", protected_namespaces=()
    )

    model_dir: Path = Settings.model_fields["model_dir"].default
    model_name: str = Settings.model_fields["model_name"].default
    plate_model_name: str = Settings.model_fields["plate_model_name"].default
