"""Draw a frame's analysis onto a copy of it: zones, counting lines, detection boxes and a
text overlay, sized to the frame so a 320 px thumbnail and a 1920 px frame both read well."""

from __future__ import annotations

import colorsys
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from shared.params import LineParams, ZoneParams

Colour = tuple[int, int, int]  # BGR, as OpenCV draws

TYPE_COLOURS: dict[str, Colour] = {
    "person": (80, 200, 60),
    "face": (255, 170, 40),
    "vehicle": (0, 150, 255),
    "animal": (200, 90, 220),
    "object": (230, 220, 40),
    "motion": (40, 230, 250),
}
ZONE_COLOURS: tuple[Colour, ...] = (
    (255, 120, 30),
    (60, 60, 240),
    (40, 200, 200),
    (200, 60, 200),
    (100, 200, 60),
    (30, 140, 255),
)
LINE_COLOUR: Colour = (255, 0, 255)
ZONE_ALPHA = 0.25
FONT = cv2.FONT_HERSHEY_SIMPLEX
# Hershey fonts only draw ASCII; anything else would come out as "?".
_ASCII = str.maketrans(
    {"\u00b7": "|", "\u2022": "|", "\u2014": "-", "\u2013": "-", "\u2192": "->", "\u00d7": "x"}
)


@dataclass(frozen=True, slots=True)
class _Style:
    thickness: int
    font_scale: float
    text_thickness: int
    pad: int

    @classmethod
    def for_frame(cls, frame: np.ndarray) -> _Style:
        size = max(frame.shape[:2])
        font_scale = min(max(size / 1600.0, 0.35), 2.0)
        return cls(
            thickness=max(1, round(size / 640.0)),
            font_scale=font_scale,
            text_thickness=max(1, round(font_scale * 1.6)),
            pad=max(2, round(size / 400.0)),
        )


def draw_frame(
    frame: np.ndarray,
    detections: Sequence[Mapping[str, Any]],
    zones: Sequence[ZoneParams],
    lines: Sequence[LineParams],
    overlay: Sequence[str] = (),
    overlay_at: Literal["top", "bottom"] = "top",
) -> np.ndarray:
    """An annotated copy of a BGR (or greyscale) frame; the input is left untouched.

    Detections carry `label`, `confidence`, `bbox` ([x1, y1, x2, y2] pixels), `type` and
    optionally `track_id`; zones and lines are in 0..1 of the frame. The overlay's text band
    sits in the top-left corner, or the bottom-left one (`overlay_at`)."""
    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    style = _Style.for_frame(out)
    if zones:
        out = _draw_zones(out, zones, style)
    for line in lines:
        _draw_line(out, line, style)

    # Motion first and labels last, so no box is drawn over another detection's text.
    ordered = sorted(detections, key=lambda det: det.get("type") != "motion")
    labels: list[tuple[str, tuple[int, int, int, int], Colour]] = []
    for det in ordered:
        rect = _pixel_box(det["bbox"], out)
        if rect is None:
            continue
        if det.get("type") == "motion":
            _dashed_rectangle(out, rect, style)
            continue
        colour = _detection_colour(det)
        # Axis-aligned edges gain nothing from anti-aliasing; LINE_8 keeps the colour exact.
        cv2.rectangle(out, rect[:2], rect[2:], colour, style.thickness, cv2.LINE_8)
        labels.append((_detection_text(det), rect, colour))
    for text, (x1, y1, _, _), colour in labels:
        _text_box(out, text, (x1, y1), colour, style, "above")

    if overlay:
        _draw_overlay(out, overlay, style, overlay_at)
    return out


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the frame as JPEG")
    return buffer.tobytes()


def track_colour(track_id: int) -> Colour:
    """A bright colour of its own per track id, the same in every frame: hues step by the
    golden ratio so consecutive ids land far apart on the colour wheel."""
    hue = (track_id * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.8, 0.95)
    return round(blue * 255), round(green * 255), round(red * 255)


def _detection_colour(det: Mapping[str, Any]) -> Colour:
    track_id = det.get("track_id")
    if isinstance(track_id, int):
        return track_colour(track_id)
    return TYPE_COLOURS.get(str(det.get("type")), TYPE_COLOURS["object"])


def _detection_text(det: Mapping[str, Any]) -> str:
    parts = [str(det.get("label", ""))]
    if isinstance(det.get("track_id"), int):
        parts.append(f"#{det['track_id']}")
    if det.get("confidence") is not None:
        parts.append(f"{float(det['confidence']):.2f}")
    return " ".join(part for part in parts if part)


def _pixel_box(bbox: Sequence[float], frame: np.ndarray) -> tuple[int, int, int, int] | None:
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in bbox)
    x1, x2 = sorted((min(max(x1, 0), width - 1), min(max(x2, 0), width - 1)))
    y1, y2 = sorted((min(max(y1, 0), height - 1), min(max(y2, 0), height - 1)))
    if x1 == x2 and y1 == y2:
        return None
    return x1, y1, x2, y2


def _to_pixels(point: Sequence[float], frame: np.ndarray) -> tuple[int, int]:
    height, width = frame.shape[:2]
    return round(point[0] * (width - 1)), round(point[1] * (height - 1))


def _draw_zones(out: np.ndarray, zones: Sequence[ZoneParams], style: _Style) -> np.ndarray:
    fill = out.copy()
    outlines = []
    for number, zone in enumerate(zones):
        colour = ZONE_COLOURS[number % len(ZONE_COLOURS)]
        points = np.array([_to_pixels(p, out) for p in zone.polygon], dtype=np.int32)
        cv2.fillPoly(fill, [points], colour, cv2.LINE_AA)
        outlines.append((zone.name, points, colour))
    # Blending the whole frame is exact outside the polygons, where both images agree.
    blended = cv2.addWeighted(fill, ZONE_ALPHA, out, 1.0 - ZONE_ALPHA, 0.0)
    for name, points, colour in outlines:
        cv2.polylines(blended, [points], True, colour, style.thickness, cv2.LINE_AA)
        top = points[np.lexsort((points[:, 0], points[:, 1]))[0]]
        _text_box(blended, name, (int(top[0]), int(top[1])), colour, style, "below")
    return blended


def _draw_line(out: np.ndarray, line: LineParams, style: _Style) -> None:
    start, end = _to_pixels(line.start, out), _to_pixels(line.end, out)
    length = math.dist(start, end)
    if length < 1:
        return
    tip = min(0.5, 6.0 * style.thickness / length)
    cv2.arrowedLine(out, start, end, LINE_COLOUR, style.thickness + 1, cv2.LINE_AA, 0, tip)

    # The "in" side: to the right of start→end as seen on screen (y grows downwards).
    mid = ((start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0)
    normal = (-(end[1] - start[1]) / length, (end[0] - start[0]) / length)
    reach = min(length / 4.0, 10.0 * style.thickness + 6.0)
    marker = (round(mid[0] + normal[0] * reach), round(mid[1] + normal[1] * reach))
    cv2.arrowedLine(
        out, (round(mid[0]), round(mid[1])), marker, LINE_COLOUR, style.thickness,
        cv2.LINE_AA, 0, 0.4,
    )  # fmt: skip
    beyond = (round(mid[0] + normal[0] * reach * 1.8), round(mid[1] + normal[1] * reach * 1.8))
    _text_box(out, "in", beyond, LINE_COLOUR, style, "centre", small=True)
    _text_box(out, line.name, start, LINE_COLOUR, style, "above")


def _dashed_rectangle(out: np.ndarray, rect: tuple[int, int, int, int], style: _Style) -> None:
    """Motion boxes: thin and broken, so they read as a hint beneath the detections."""
    colour, thickness = TYPE_COLOURS["motion"], max(1, style.thickness - 1)
    x1, y1, x2, y2 = rect
    dash = 4 * style.pad
    # Horizontal edges then vertical ones, each as dashes of `dash` px with gaps as long.
    for begin in range(x1, x2 + 1, 2 * dash):
        finish = min(begin + dash, x2)
        cv2.line(out, (begin, y1), (finish, y1), colour, thickness)
        cv2.line(out, (begin, y2), (finish, y2), colour, thickness)
    for begin in range(y1, y2 + 1, 2 * dash):
        finish = min(begin + dash, y2)
        cv2.line(out, (x1, begin), (x1, finish), colour, thickness)
        cv2.line(out, (x2, begin), (x2, finish), colour, thickness)


def _text_box(
    out: np.ndarray,
    text: str,
    anchor: tuple[int, int],
    background: Colour,
    style: _Style,
    place: Literal["above", "below", "centre"],
    *,
    small: bool = False,
) -> None:
    """Text on a filled box of `background`, just above, below or centred on `anchor`, kept
    inside the frame."""
    text = _ascii(text)
    if not text:
        return
    scale = style.font_scale * (0.8 if small else 1.0)
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, style.text_thickness)
    box_w, box_h = text_w + 2 * style.pad, text_h + baseline + 2 * style.pad
    height, width = out.shape[:2]
    x, y = anchor
    if place == "centre":
        x, y = x - box_w // 2, y - box_h // 2
    elif place == "above" and y >= box_h:
        y -= box_h
    # (With no room above, as for a box at the top edge, the text goes just inside it.)
    x = min(max(x, 0), max(width - box_w, 0))
    y = min(max(y, 0), max(height - box_h, 0))
    cv2.rectangle(out, (x, y), (x + box_w, y + box_h), background, cv2.FILLED)
    cv2.putText(
        out, text, (x + style.pad, y + style.pad + text_h), FONT, scale, _ink(background),
        style.text_thickness, cv2.LINE_AA,
    )  # fmt: skip


def _draw_overlay(
    out: np.ndarray, overlay: Sequence[str], style: _Style, at: Literal["top", "bottom"]
) -> None:
    texts = [_ascii(text) for text in overlay]
    sizes = [cv2.getTextSize(t, FONT, style.font_scale, style.text_thickness) for t in texts]
    line_h = max(h + b for (_, h), b in sizes) + style.pad
    band_w = max(w for (w, _), _ in sizes) + 4 * style.pad
    band_h = line_h * len(texts) + 2 * style.pad
    top = 0 if at == "top" else max(out.shape[0] - band_h, 0)
    # Darken rather than paint over, so the scene under the band stays faintly visible.
    band = out[top : top + band_h, :band_w]
    band[:] = (band * 0.35).astype(np.uint8)
    for row, (text, ((_, text_h), _)) in enumerate(zip(texts, sizes, strict=True)):
        y = top + style.pad + row * line_h + text_h + style.pad // 2
        cv2.putText(
            out, text, (2 * style.pad, y), FONT, style.font_scale, (255, 255, 255),
            style.text_thickness, cv2.LINE_AA,
        )  # fmt: skip


def _ink(background: Colour) -> Colour:
    blue, green, red = background
    luma = 0.114 * blue + 0.587 * green + 0.299 * red
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII))
    return decomposed.encode("ascii", "ignore").decode("ascii")
