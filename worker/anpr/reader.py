"""Finds and reads the plates in one frame: localise (where to look), recognise (an OCR engine),
resolve (regional formats), then choose each vehicle's most plate-like reading.

Localisation strategies, measured against each other by `make eval-anpr`:
- `frame_text`: text detection over the whole frame; vehicles only weigh the candidates;
- `vehicle_text`: text detection inside the lower part of each vehicle box (what video does
  per track);
- `combined`: both, readings of the same text adding up;
- `plate_model`: the plate class of the fine-tuned YOLO in VIGIL_PLATE_MODEL_NAME, then OCR
  on each padded plate box;
- `haar`: OpenCV's plate cascade, then OCR on each padded box."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from shared.configured import plate_formats
from shared.params import PlateLocalisation, PlatesParams
from shared.plates import PlateFormats, PlateMatch, resolve_plate
from shared.settings import get_settings
from worker.anpr.ocr import OcrEngine, TextLine, default_engine, get_engine
from worker.detectors.cascades import haar_cascade
from worker.detectors.yolo import yolo_runner

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels

# COCO vehicles that carry plates (bicycles do not).
PLATED_VEHICLES = ("car", "motorcycle", "bus", "truck")
PLATE_CASCADE = "haarcascade_russian_plate_number.xml"
PLATE_LABEL = "plate"
PLATE_MODEL_CONFIDENCE = 0.1
# Plates sit below a vehicle's roof line and windscreen: the top quarter holds none.
VEHICLE_TOP_SKIPPED = 0.25
# A plate box grown by this share of its width and height, so no character is cut off.
PLATE_PAD_X = 0.15
PLATE_PAD_Y = 0.3
# Too small to hold legible characters.
MIN_REGION_SIDE = 12

# How plate-like a reading is, beyond the recogniser's score. Where these weights come from:
# text outside every vehicle is signage or a camera's clock; text high on a vehicle is livery;
# fewer than five characters are often a fragment; six or more digits are a phone number or a
# date as often as a plate; letters alone are words (a brand, a dealer).
OFF_VEHICLE = 0.6
HIGH_ON_VEHICLE = 0.7
HIGH_ON_VEHICLE_ABOVE = 0.35
SHORT = 0.8
SHORT_BELOW = 5
LONG_DIGITS = 0.9
LONG_DIGITS_FROM = 6
LETTERS_ONLY = 0.5
PER_SUBSTITUTION = 0.97


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate reading: `text` after normalisation and format correction, the recogniser's
    `confidence`, the `region` whose format it fits, its `box` in frame pixels and the
    `vehicle` (index into the boxes given) it lies on, if any."""

    text: str
    confidence: float
    region: str | None
    box: Box
    raw_text: str
    vehicle: int | None


@dataclass(frozen=True, slots=True)
class _Candidate:
    read: PlateRead
    score: float


def _clip(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return (max(0, int(x1)), max(0, int(y1)), min(width, int(x2 + 1)), min(height, int(y2 + 1)))


def _padded(box: Box, pad_x: float, pad_y: float) -> Box:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (x1 - pad_x * w, y1 - pad_y * h, x2 + pad_x * w, y2 + pad_y * h)


def vehicle_search_box(vehicle: Box) -> Box:
    x1, y1, x2, y2 = vehicle
    return (x1, y1 + VEHICLE_TOP_SKIPPED * (y2 - y1), x2, y2)


def _plate_model_boxes(frame: np.ndarray) -> list[Box]:
    runner = yolo_runner(get_settings().plate_model_name)
    found = runner.predict(frame).select(PLATE_MODEL_CONFIDENCE, (PLATE_LABEL,), 0)
    return [_padded((d.x1, d.y1, d.x2, d.y2), PLATE_PAD_X, PLATE_PAD_Y) for d in found]


def _haar_boxes(frame: np.ndarray) -> list[Box]:
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    found = haar_cascade(PLATE_CASCADE).detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3)
    return [
        _padded((x, y, x + w, y + h), PLATE_PAD_X, PLATE_PAD_Y)
        for x, y, w, h in np.asarray(found, dtype=float).reshape(-1, 4).tolist()
    ]


def search_regions(
    frame: np.ndarray, vehicles: Sequence[Box], strategy: PlateLocalisation
) -> list[Box]:
    """Where the OCR engine looks, in frame pixels."""
    height, width = frame.shape[:2]
    whole: Box = (0.0, 0.0, float(width), float(height))
    if strategy == "frame_text":
        return [whole]
    if strategy == "plate_model":
        return _plate_model_boxes(frame)
    if strategy == "haar":
        return _haar_boxes(frame)
    on_vehicles = [vehicle_search_box(v) for v in vehicles]
    if strategy == "vehicle_text":
        # With no vehicle in sight (a close-up of a plate, say) the frame is all there is.
        return on_vehicles or [whole]
    return [whole, *on_vehicles]


def _vehicle_of(box: Box, vehicles: Sequence[Box]) -> tuple[int | None, float]:
    """The vehicle whose box holds the centre of `box` (the smallest, where boxes nest) and how
    far down that vehicle the centre lies (0 top, 1 bottom)."""
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    best: tuple[int | None, float] = (None, 0.0)
    best_area = float("inf")
    for i, (x1, y1, x2, y2) in enumerate(vehicles):
        area = (x2 - x1) * (y2 - y1)
        if x1 <= cx <= x2 and y1 <= cy <= y2 and area < best_area:
            best, best_area = (i, (cy - y1) / max(y2 - y1, 1e-6)), area
    return best


def plate_likeness(
    match: PlateMatch, vehicle: int | None, depth: float, any_vehicle: bool
) -> float:
    """The prior that multiplies the recogniser's score when choosing among readings."""
    weight = PER_SUBSTITUTION**match.substitutions
    if vehicle is None:
        weight *= OFF_VEHICLE if any_vehicle else 1.0
    elif depth < HIGH_ON_VEHICLE_ABOVE:
        weight *= HIGH_ON_VEHICLE
    text = match.text
    if len(text) < SHORT_BELOW:
        weight *= SHORT
    if text.isdigit() and len(text) >= LONG_DIGITS_FROM:
        weight *= LONG_DIGITS
    if text.isalpha():
        weight *= LETTERS_ONLY
    return weight


class PlateReader:
    """Reads plates with one OCR engine and one region's formats; keeps no state between
    frames. Readings scoring under `min_confidence` are not reported."""

    def __init__(
        self,
        engine: OcrEngine,
        formats: PlateFormats,
        region: str | None,
        min_confidence: float = 0.0,
    ) -> None:
        self.engine = engine
        self.formats = formats
        self.region = region
        self.min_confidence = min_confidence

    def read(
        self, frame: np.ndarray, vehicles: Sequence[Box], strategy: PlateLocalisation
    ) -> list[PlateRead]:
        """The best reading on each vehicle; where no vehicle has one, the best reading off
        them (a plate whose car the detector missed). Sorted by vehicle."""
        candidates = [
            candidate
            for region in search_regions(frame, vehicles, strategy)
            for line in self._ocr(frame, region)
            if (candidate := self._candidate(line, vehicles)) is not None
        ]
        chosen: dict[int | None, PlateRead] = {}
        for vehicle in {c.read.vehicle for c in candidates}:
            chosen[vehicle] = _vote([c for c in candidates if c.read.vehicle == vehicle])
        if any(vehicle is not None for vehicle in chosen):
            chosen.pop(None, None)
        return [
            chosen[v]
            for v in sorted(chosen, key=lambda v: -1 if v is None else v)
            if chosen[v].confidence >= self.min_confidence
        ]

    def _ocr(self, frame: np.ndarray, region: Box) -> list[TextLine]:
        height, width = frame.shape[:2]
        x1, y1, x2, y2 = _clip(region, width, height)
        if min(x2 - x1, y2 - y1) < MIN_REGION_SIDE:
            return []
        return [
            TextLine(
                line.text,
                line.confidence,
                (line.box[0] + x1, line.box[1] + y1, line.box[2] + x1, line.box[3] + y1),
            )
            for line in self.engine.read(frame[y1:y2, x1:x2])
        ]

    def _candidate(self, line: TextLine, vehicles: Sequence[Box]) -> _Candidate | None:
        match = resolve_plate(line.text, self.formats, self.region)
        if match is None:
            return None
        vehicle, depth = _vehicle_of(line.box, vehicles)
        read = PlateRead(match.text, line.confidence, match.region, line.box, line.text, vehicle)
        weight = plate_likeness(match, vehicle, depth, bool(vehicles))
        return _Candidate(read, line.confidence * weight)


def top_text(scored: Iterable[tuple[str, float]]) -> str | None:
    """The text with the highest summed score: readings of the same plate add up."""
    totals: dict[str, float] = {}
    for text, score in scored:
        totals[text] = totals.get(text, 0.0) + score
    return max(totals, key=lambda text: totals[text]) if totals else None


def _vote(candidates: list[_Candidate]) -> PlateRead:
    """The winning text among one vehicle's candidates (two regions reading the same plate
    agree), represented by its most confident reading."""
    winner = top_text((c.read.text, c.score) for c in candidates)
    return max((c.read for c in candidates if c.read.text == winner), key=lambda r: r.confidence)


def plate_reader(params: PlatesParams) -> PlateReader:
    """The reader a `plates` config asks for; its OCR engine is loaded once per process."""
    settings = get_settings()
    return PlateReader(
        get_engine(params.ocr_engine or default_engine()),
        plate_formats(settings),
        params.region or settings.plate_region,
        params.confidence,
    )
