"""YOLO weights: resolved from VIGIL_MODEL_DIR, loaded once per process, described for /models."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shared import metrics
from shared.settings import get_settings
from shared.storage import private_dir
from shared.weights import missing_weights_message
from worker.errors import ModelUnavailableError
from worker.inference.engine import DetectionEngine

logger = logging.getLogger(__name__)

# Official names ultralytics can fetch by itself on a machine with internet access.
DOWNLOADABLE_SUFFIX = ".pt"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    file: str
    format: str
    task: str
    version: str | None
    sha256: str | None
    classes: list[str] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_format(path: Path) -> str:
    if path.name.endswith("_openvino_model"):
        return "openvino"
    return {".onnx": "onnx", ".pt": "pytorch", ".engine": "tensorrt"}.get(path.suffix, "unknown")


def resolve_model(name: str, model_dir: Path | None = None) -> Path:
    """The weights for `name` (a `.pt`/`.onnx` file or an OpenVINO folder) in the model dir.
    A bare official `.pt` name that is absent locally is returned as is: ultralytics
    downloads it where the machine is online."""
    settings = get_settings()
    directory = model_dir or settings.model_dir
    path = directory / name
    if path.exists():
        return path
    if name.endswith(DOWNLOADABLE_SUFFIX) and "/" not in name:
        return Path(name)
    raise ModelUnavailableError(
        missing_weights_message(name, directory, plate_model=name == settings.plate_model_name)
    )


def _weight_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".xml", ".bin", ".onnx", ".pt"})
    return [path] if path.is_file() else []


def _sha256(files: list[Path]) -> str | None:
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _metadata(path: Path) -> dict[str, Any]:
    meta = path / "metadata.yaml" if path.is_dir() else path.with_name("metadata.yaml")
    if not meta.is_file():
        return {}
    loaded = yaml.safe_load(meta.read_text())
    return loaded if isinstance(loaded, dict) else {}


@lru_cache
def describe_model(name: str) -> ModelInfo:
    """Identify the configured model from its files, without loading it."""
    path = resolve_model(name)
    meta = _metadata(path)
    names = meta.get("names")
    classes = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else None
    return ModelInfo(
        name=name,
        file=str(path.resolve()) if path.exists() else str(path),
        format=model_format(path),
        task=str(meta.get("task", "detect")),
        version=str(meta["version"]) if "version" in meta else None,
        sha256=_sha256(_weight_files(path)),
        classes=classes,
    )


def _compile_cache() -> Path:
    settings = get_settings()
    if settings.model_cache_dir is None:
        # Inside the storage root, which must stay readable by the service alone: creating the
        # cache first must not create the root with the umask's looser mode.
        return private_dir(settings.compiled_model_dir)
    settings.model_cache_dir.mkdir(parents=True, exist_ok=True)
    return settings.model_cache_dir


def _engine(path: Path, model_format_name: str) -> DetectionEngine:
    if model_format_name in {"openvino", "onnx"}:
        from worker.inference.openvino_engine import OpenVinoEngine

        return OpenVinoEngine(path, _compile_cache())
    from worker.inference.ultralytics_engine import UltralyticsEngine

    return UltralyticsEngine(path)


@lru_cache
def load_engine(name: str) -> DetectionEngine:
    """The detection model `name`, loaded on first use in this process and kept for its
    lifetime: OpenVINO and ONNX models on OpenVINO's runtime, anything else through ultralytics.
    One blank frame is run here so that the logged time is the real cost of being ready."""
    path = resolve_model(name)
    kind = model_format(path)
    started = time.perf_counter()
    try:
        engine = _engine(path, kind)
        blank = np.zeros((64, 64, 3), dtype=np.uint8)
        engine.submit(blank, 0.5).result()
        engine.submit(blank, 0.5, ahead=True).result()
    except Exception as exc:
        raise ModelUnavailableError(f"could not load model {name!r}: {exc}") from exc
    seconds = time.perf_counter() - started
    logger.info("loaded model %s (%s on %s) in %.2fs", name, kind, engine.runtime, seconds)
    metrics.record_model_load(name, seconds)
    return engine
