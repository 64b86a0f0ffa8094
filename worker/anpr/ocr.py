"""Text detection and recognition engines behind one interface, loaded once per process.

`rapidocr` runs PP-OCR ONNX models that ship inside its wheel: it works offline anywhere.
`easyocr` loads its CRAFT detector and English recogniser from VIGIL_MODEL_DIR/easyocr with
downloads disabled; where the files are missing it fails with a message saying which."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from shared import metrics
from shared.settings import get_settings
from worker.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

EASYOCR_SUBDIR = "easyocr"
EASYOCR_FILES = ("craft_mlt_25k.pth", "english_g2.pth")
# Lines below this recognition score are not worth voting on.
MIN_LINE_SCORE = 0.3
# Text detection sees a region at its own resolution unless its shorter side is below this:
# upscaling a vehicle crop to RapidOCR's default 736 px cost three times the time and read
# fewer plates on `make eval-anpr` (see the README's ANPR section).
DET_MIN_SIDE = 320


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text: what it says, the recogniser's score, and its box (x1, y1, x2, y2)
    in pixels of the image the engine was given."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]


def _bounds(points: Any) -> tuple[float, float, float, float]:
    array = np.asarray(points, dtype=float).reshape(-1, 2)
    x1, y1 = array.min(axis=0).tolist()
    x2, y2 = array.max(axis=0).tolist()
    return (x1, y1, x2, y2)


class OcrEngine(ABC):
    name: ClassVar[str]

    @abstractmethod
    def read(self, image: np.ndarray) -> list[TextLine]:
        """Every text line found in a BGR image."""


class RapidOcrEngine(OcrEngine):
    name = "rapidocr"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        # Plates are never upside down in a camera's view: the 180° classifier only costs time
        # and, on a blurred plate, turns a right reading into a reversed one.
        self._engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Global.text_score": MIN_LINE_SCORE,
                "Det.limit_type": "min",
                "Det.limit_side_len": DET_MIN_SIDE,
            }
        )

    def read(self, image: np.ndarray) -> list[TextLine]:
        result: Any = self._engine(image)
        if result.boxes is None or result.txts is None or result.scores is None:
            return []
        return [
            TextLine(str(text), float(score), _bounds(box))
            for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
        ]


def easyocr_dir() -> Path:
    return get_settings().model_dir / EASYOCR_SUBDIR


def easyocr_missing(directory: Path) -> list[str]:
    return [name for name in EASYOCR_FILES if not (directory / name).is_file()]


class EasyOcrEngine(OcrEngine):
    name = "easyocr"

    def __init__(self, directory: Path) -> None:
        missing = easyocr_missing(directory)
        if missing:
            raise ModelUnavailableError(
                f"the easyocr engine needs {', '.join(EASYOCR_FILES)} in {directory.resolve()} "
                f"(VIGIL_MODEL_DIR/{EASYOCR_SUBDIR}); missing: {', '.join(missing)}. Downloads "
                "are disabled: copy EasyOCR's weights there, or use ocr_engine 'rapidocr'"
            )
        import easyocr

        self._reader = easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=str(directory),
            user_network_directory=str(directory),
            download_enabled=False,
            verbose=False,
        )

    def read(self, image: np.ndarray) -> list[TextLine]:
        found: list[Any] = self._reader.readtext(image)
        return [
            TextLine(str(text), float(score), _bounds(box))
            for box, text, score in found
            if float(score) >= MIN_LINE_SCORE
        ]


def default_engine() -> str:
    """The engine a job gets without asking: VIGIL_OCR_ENGINE, where `auto` means easyocr when
    its weights are in place and rapidocr otherwise."""
    configured = get_settings().ocr_engine
    if configured != "auto":
        return configured
    return "rapidocr" if easyocr_missing(easyocr_dir()) else "easyocr"


@lru_cache(maxsize=4)
def get_engine(name: str) -> OcrEngine:
    """The engine `name`, loaded on first use in this process and kept for its lifetime:
    every plate reader of the process shares it."""
    started = time.perf_counter()
    engine: OcrEngine
    if name == "rapidocr":
        engine = RapidOcrEngine()
    elif name == "easyocr":
        engine = EasyOcrEngine(easyocr_dir())
    else:
        raise ValueError(f"unknown OCR engine {name!r} (rapidocr, easyocr)")
    seconds = time.perf_counter() - started
    logger.info("OCR engine %s loaded in %.2fs", name, seconds)
    metrics.record_model_load(name, seconds)
    return engine


def warm_up_engine(blank: np.ndarray) -> None:
    """Loads the engine a job gets without asking and reads `blank` with it once: the first
    inference sets up more than loading does, and a warm-up must leave the first job nothing
    to pay."""
    get_engine(default_engine()).read(blank)
