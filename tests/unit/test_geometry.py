from __future__ import annotations

import pytest

from worker.engine.analysers.geometry import point_in_polygon, segments_intersect, side_of_line

SQUARE = [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]
# A "U": the notch between its arms (x 0.4..0.6, y 0.2..0.6) lies outside the polygon.
U_SHAPE = [
    (0.2, 0.2),
    (0.4, 0.2),
    (0.4, 0.6),
    (0.6, 0.6),
    (0.6, 0.2),
    (0.8, 0.2),
    (0.8, 0.8),
    (0.2, 0.8),
]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.4, 0.4), True),
        ((0.1, 0.4), False),
        ((0.7, 0.4), False),
        ((0.4, 0.65), False),
        ((0.6, 0.4), True),  # on an edge
        ((0.2, 0.2), True),  # on a vertex
        ((0.4, 0.6), True),  # on the bottom edge, where anchors usually touch
        ((0.6000001, 0.4), False),
    ],
)
def test_point_in_square(point: tuple[float, float], expected: bool) -> None:
    assert point_in_polygon(point, SQUARE) is expected


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.3, 0.4), True),  # left arm
        ((0.7, 0.4), True),  # right arm
        ((0.5, 0.4), False),  # in the notch
        ((0.5, 0.7), True),  # the base below the notch
        ((0.5, 0.6), True),  # the notch's floor is an edge
        ((0.5, 0.2), False),  # level with the arms' tops, but in the notch's mouth
        ((0.9, 0.2), False),  # a ray through the vertices is not miscounted
    ],
)
def test_point_in_concave_polygon(point: tuple[float, float], expected: bool) -> None:
    assert point_in_polygon(point, U_SHAPE) is expected


def test_side_of_line_signs_in_image_coordinates() -> None:
    # Facing down the frame from (0.5, 0), the right hand points to -x (y grows downwards).
    assert side_of_line((0.4, 0.5), (0.5, 0.0), (0.5, 1.0)) > 0
    assert side_of_line((0.6, 0.5), (0.5, 0.0), (0.5, 1.0)) < 0
    # Facing +x along a horizontal line, the right hand points down the frame (+y).
    assert side_of_line((0.3, 0.7), (0.0, 0.5), (1.0, 0.5)) > 0
    assert side_of_line((0.3, 0.7), (1.0, 0.5), (0.0, 0.5)) < 0
    assert side_of_line((0.5, 0.5), (0.5, 0.0), (0.5, 1.0)) == 0


def test_side_of_line_magnitude_is_distance_times_length() -> None:
    assert side_of_line((0.2, 0.9), (0.0, 0.5), (0.5, 0.5)) == pytest.approx(0.5 * 0.4)


@pytest.mark.parametrize(
    ("p1", "p2", "q1", "q2", "expected"),
    [
        ((0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), True),  # an X
        ((0.0, 0.0), (1.0, 0.0), (0.0, 0.1), (1.0, 0.1), False),  # parallel
        ((0.0, 0.0), (0.5, 0.5), (0.5, 0.5), (1.0, 0.0), True),  # sharing an endpoint
        ((0.0, 0.5), (0.5, 0.5), (0.5, 0.0), (0.5, 1.0), True),  # one ending on the other
        ((0.0, 0.0), (0.6, 0.0), (0.4, 0.0), (1.0, 0.0), True),  # collinear, overlapping
        ((0.0, 0.0), (0.3, 0.0), (0.4, 0.0), (1.0, 0.0), False),  # collinear, apart
        # Crosses the line through (0.5, 0)-(0.5, 0.4), but below the segment's end.
        ((0.3, 0.8), (0.7, 0.8), (0.5, 0.0), (0.5, 0.4), False),
        ((0.3, 0.2), (0.7, 0.2), (0.5, 0.0), (0.5, 0.4), True),
    ],
)
def test_segments_intersect(
    p1: tuple[float, float],
    p2: tuple[float, float],
    q1: tuple[float, float],
    q2: tuple[float, float],
    expected: bool,
) -> None:
    assert segments_intersect(p1, p2, q1, q2) is expected
    assert segments_intersect(q1, q2, p1, p2) is expected
    assert segments_intersect(p2, p1, q2, q1) is expected
