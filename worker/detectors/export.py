"""`vigil models fetch` and `vigil models export`: weights for VIGIL_MODEL_DIR, as OpenVINO
folders named the way the settings expect (`yolov8n_int8_openvino_model`).

ultralytics is imported inside the functions: the rest of the CLI must start without it."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

DEFAULT_MODEL = "yolov8n"
# ultralytics' own image size for its COCO detectors; the exported graph is fixed to it.
EXPORT_IMGSZ = 640


class ModelExportError(Exception):
    """A fetch or an export failed; the message says what to do about it."""


def openvino_folder_name(stem: str, *, int8: bool) -> str:
    """The folder ultralytics' OpenVINO export writes (and VIGIL_MODEL_NAME names)."""
    return f"{stem}_{'int8_' if int8 else ''}openvino_model"


def detection_models() -> list[str]:
    """The COCO detectors ultralytics publishes as `<name>.pt` release assets."""
    from ultralytics.utils.downloads import GITHUB_ASSETS_STEMS

    # YOLO-NAS weights need another loader than YOLO(), and `-seg`/`-pose`/... are other tasks.
    return sorted(
        s
        for s in GITHUB_ASSETS_STEMS
        if s.startswith("yolo") and "-" not in s and not s.startswith("yolo_nas")
    )


def _plain(exc: BaseException) -> str:
    # ultralytics decorates its messages with emoji; a terminal or a log may not render them.
    return "".join(ch for ch in str(exc) if ch.isascii()).strip() or type(exc).__name__


def _require_int8_support() -> None:
    if importlib.util.find_spec("nncf") is None:
        raise ModelExportError(
            "an INT8 export needs the `nncf` package: `pip install 'nncf>=2.14'` into this "
            "environment, or pass --no-int8 for a full-precision export"
        )


def _download(weights: Path) -> None:
    from ultralytics.utils.downloads import attempt_download_asset

    try:
        attempt_download_asset(weights)
    except (ConnectionError, OSError) as exc:
        raise ModelExportError(
            f"cannot download {weights.name} from GitHub ({_plain(exc)}): where this machine "
            "has no internet access, run `vigil models fetch` on one that has and copy the "
            "folder it writes into VIGIL_MODEL_DIR here (see docs/operations.md#models)"
        ) from exc
    if not weights.is_file():
        raise ModelExportError(f"the download of {weights.name} left no file at {weights}")


def export(
    weights: Path,
    directory: Path,
    *,
    int8: bool,
    data: str | None = None,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Export a local `.pt` to an OpenVINO folder in `directory`; returns the folder."""
    if weights.suffix != ".pt" or not weights.is_file():
        raise ModelExportError(f"not a .pt file: {weights}")
    target = directory / (name or openvino_folder_name(weights.stem, int8=int8))
    if target.exists() and not force:
        raise ModelExportError(f"{target} already exists; pass --force to replace it")
    if int8:
        _require_int8_support()
    from ultralytics import YOLO

    directory.mkdir(parents=True, exist_ok=True)
    # ultralytics writes its export beside the weights; a private copy keeps the source's
    # folder untouched and puts the result on the target's filesystem for the final move.
    with tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as work:
        source = Path(work) / weights.name
        shutil.copy2(weights, source)
        try:
            model = YOLO(str(source), task="detect")
            exported = Path(
                model.export(format="openvino", int8=int8, data=data, imgsz=EXPORT_IMGSZ)
            )
        # Whatever ultralytics, torch or OpenVINO raise (a corrupt file, a missing calibration
        # set, an unsupported layer), the user gets one line, not a traceback.
        except Exception as exc:
            raise ModelExportError(f"exporting {weights} failed: {_plain(exc)}") from exc
        if target.exists():
            shutil.rmtree(target)
        shutil.move(exported, target)
    return target


def fetch(
    model: str, directory: Path, *, int8: bool, data: str | None = None, force: bool = False
) -> Path:
    """Download ultralytics' `<model>.pt` into `directory` and export it there."""
    known = detection_models()
    if model not in known:
        raise ModelExportError(
            f"{model!r} is not one of ultralytics' published detectors ({', '.join(known)})"
        )
    target = directory / openvino_folder_name(model, int8=int8)
    if target.exists() and not force:
        raise ModelExportError(f"{target} already exists; pass --force to replace it")
    # Checked before the download, so a missing package does not cost one.
    if int8:
        _require_int8_support()
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{model}.pt"
    if not weights.is_file():
        _download(weights)
    return export(weights, directory, int8=int8, data=data, force=force)
