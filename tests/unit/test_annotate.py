from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from shared.params import LineParams, ZoneParams
from worker.annotate import (
    TYPE_COLOURS,
    ZONE_ALPHA,
    ZONE_COLOURS,
    draw_frame,
    encode_jpeg,
    track_colour,
)

GREY = 100


def grey_frame(width: int = 640, height: int = 480) -> np.ndarray:
    return np.full((height, width, 3), GREY, np.uint8)


def detection(bbox: list[int], **extra: Any) -> dict[str, Any]:
    return {"label": "person", "confidence": 0.9, "bbox": bbox, "type": "person", **extra}


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per-pixel mask of where the two frames differ."""
    mask: np.ndarray = np.any(before != after, axis=2)
    return mask


def test_the_input_frame_is_never_modified() -> None:
    frame = grey_frame()
    original = frame.copy()
    zone = ZoneParams(name="door", polygon=((0.1, 0.1), (0.5, 0.1), (0.5, 0.5)))
    line = LineParams(name="gate", start=(0.1, 0.9), end=(0.9, 0.9))

    out = draw_frame(frame, [detection([50, 60, 200, 300])], [zone], [line], ["people 1"])

    assert np.array_equal(frame, original)
    assert out is not frame
    assert changed(frame, out).any()


def test_box_outline_is_drawn_and_its_inside_left_alone() -> None:
    frame = grey_frame()
    out = draw_frame(frame, [detection([100, 150, 300, 400])], [], [])

    diff = changed(frame, out)
    for x, y in ((100, 275), (300, 275), (200, 150), (200, 400)):  # the middle of each side
        assert diff[y, x], (x, y)
    assert not diff[200:380, 120:280].any()  # the inside, clear of the outline and the label
    assert not diff[420:, :].any()  # nothing below the box


def test_a_tracked_box_takes_its_track_colour_and_keeps_it() -> None:
    frame = grey_frame()
    det = detection([100, 150, 300, 400], track_id=7)
    as_vehicle = {**det, "type": "vehicle", "label": "car"}

    first = draw_frame(frame, [det], [], [])
    second = draw_frame(frame, [as_vehicle], [], [])

    assert tuple(first[275, 100]) == track_colour(7)
    assert tuple(second[275, 100]) == track_colour(7)
    assert track_colour(7) != track_colour(8)


def test_an_untracked_box_is_coloured_by_type() -> None:
    frame = grey_frame()
    out = draw_frame(frame, [detection([100, 150, 300, 400], type="vehicle", label="car")], [], [])
    assert tuple(out[275, 100]) == TYPE_COLOURS["vehicle"]


def test_the_label_sits_on_a_filled_background_above_the_box() -> None:
    frame = grey_frame()
    out = draw_frame(frame, [detection([100, 150, 300, 400], track_id=3)], [], [])
    label_area = changed(frame, out)[140:150, 100:150]
    assert label_area.all()  # filled, not just the strokes of the letters


def test_motion_boxes_are_dashed_and_carry_no_label() -> None:
    frame = grey_frame()
    motion = {"label": "motion", "confidence": 1.0, "bbox": [100, 150, 300, 400], "type": "motion"}
    out = draw_frame(frame, [motion], [], [])

    diff = changed(frame, out)
    top_edge = diff[150, 100:301]
    assert 0.2 < top_edge.mean() < 0.8  # dashes and gaps
    assert not diff[:145, :].any()  # no label above it


def test_zone_fill_tints_the_inside_of_the_polygon() -> None:
    frame = grey_frame()
    zone = ZoneParams(name="yard", polygon=((0.5, 0.5), (0.9, 0.5), (0.9, 0.9), (0.5, 0.9)))
    out = draw_frame(frame, [], [zone], [])

    colour = np.array(ZONE_COLOURS[0], np.float64)
    expected = np.round(GREY * (1 - ZONE_ALPHA) + colour * ZONE_ALPHA)
    assert np.allclose(out[380, 450], expected, atol=1)  # inside
    assert np.array_equal(out[100, 100], frame[100, 100])  # outside
    assert changed(frame, out)[240, 400]  # on the outline


def test_line_is_drawn_from_start_to_end() -> None:
    frame = grey_frame()
    line = LineParams(name="gate", start=(0.2, 0.5), end=(0.8, 0.5))
    out = draw_frame(frame, [], [], [line])

    diff = changed(frame, out)
    row = round(0.5 * 479)
    assert diff[row, round(0.3 * 639) : round(0.7 * 639)].all()
    assert not diff[: row - 60, :].any()  # the name sits just above the start, nothing higher


def test_overlay_text_darkens_a_band_at_the_top_left() -> None:
    frame = grey_frame()
    out = draw_frame(frame, [], [], [], overlay=["people 12 \u00b7 crowd medium", "cars 3"])

    band = out[:30, :150]
    assert np.median(band) < GREY / 2
    assert (band == 255).any()  # the white text on it
    assert np.array_equal(out[400:, 400:], frame[400:, 400:])


def test_nothing_to_draw_returns_an_identical_copy() -> None:
    frame = grey_frame()
    out = draw_frame(frame, [], [], [])
    assert np.array_equal(out, frame)
    assert out is not frame


@pytest.mark.parametrize(("width", "height"), [(1, 1), (8, 6), (32, 24), (1920, 1080)])
def test_any_frame_size_survives_everything_at_once(width: int, height: int) -> None:
    frame = grey_frame(width, height)
    zone = ZoneParams(name="z", polygon=((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)))
    line = LineParams(name="l", start=(0.0, 1.0), end=(1.0, 0.0))
    detections = [
        detection([-5, -5, width + 5, height + 5], track_id=1),
        detection([0, 0, 0, 0]),
        {"label": "motion", "confidence": 1.0, "bbox": [0, 0, width, height], "type": "motion"},
    ]
    out = draw_frame(frame, detections, [zone], [line], ["people 2 \u00b7 crowd low"])
    assert out.shape == frame.shape
    assert out.dtype == np.uint8


def test_greyscale_input_comes_back_in_colour() -> None:
    frame = np.full((120, 160), GREY, np.uint8)
    out = draw_frame(frame, [detection([10, 40, 100, 110])], [], [])
    assert out.shape == (120, 160, 3)


def test_encode_jpeg_round_trips() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (241, 321, 3), dtype=np.uint8)

    data = encode_jpeg(frame)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    assert data[:2] == b"\xff\xd8"
    assert decoded is not None
    assert decoded.shape == frame.shape
    assert len(encode_jpeg(frame, quality=30)) < len(data)
