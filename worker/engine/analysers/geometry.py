"""Plane geometry on normalised frame coordinates (x right, y down, both 0..1)."""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]

# Tolerance for "on the edge": anchors are rounded box coordinates, so an anchor meant to lie
# on a zone edge or a line can miss it by floating-point noise.
EPSILON = 1e-9


def side_of_line(point: Point, start: Point, end: Point) -> float:
    """Cross product (end - start) x (point - start): zero on the line, and its sign tells the
    side. With y pointing down, as in images, a positive value is the right-hand side of someone
    at `start` facing `end` as the frame is displayed, a negative one the left-hand side. Its
    magnitude is the distance to the infinite line times the line's length."""
    (px, py), (sx, sy), (ex, ey) = point, start, end
    return (ex - sx) * (py - sy) - (ey - sy) * (px - sx)


def _on_segment(point: Point, start: Point, end: Point) -> bool:
    """Whether `point`, already known to be collinear with the segment, lies within it."""
    (px, py), (sx, sy), (ex, ey) = point, start, end
    return (
        min(sx, ex) - EPSILON <= px <= max(sx, ex) + EPSILON
        and min(sy, ey) - EPSILON <= py <= max(sy, ey) + EPSILON
    )


def _touches(point: Point, start: Point, end: Point) -> bool:
    return abs(side_of_line(point, start, end)) <= EPSILON and _on_segment(point, start, end)


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Whether `point` lies inside the (possibly concave, non-self-intersecting) polygon; a
    point on an edge or a vertex counts as inside."""
    edges = list(zip(polygon, [*polygon[1:], polygon[0]], strict=True))
    if any(_touches(point, a, b) for a, b in edges):
        return True
    x, y = point
    inside = False
    # Even-odd rule with a ray towards +x; the half-open test on y counts a vertex the ray
    # passes through once, not twice.
    for (ax, ay), (bx, by) in edges:
        if (ay > y) != (by > y):
            crossing_x = ax + (y - ay) * (bx - ax) / (by - ay)
            if crossing_x > x:
                inside = not inside
    return inside


def _orientation(a: Point, b: Point, c: Point) -> int:
    cross = side_of_line(c, a, b)
    if abs(cross) <= EPSILON:
        return 0
    return 1 if cross > 0 else -1


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segment p1-p2 and segment q1-q2 share a point (touching and overlapping
    collinear segments included)."""
    o1, o2 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    o3, o4 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    # Otherwise they can only meet where an endpoint lies on the other segment (touching or
    # collinear segments).
    return (
        (o1 == 0 and _on_segment(q1, p1, p2))
        or (o2 == 0 and _on_segment(q2, p1, p2))
        or (o3 == 0 and _on_segment(p1, q1, q2))
        or (o4 == 0 and _on_segment(p2, q1, q2))
    )
