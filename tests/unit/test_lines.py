from __future__ import annotations

import json
from collections.abc import Sequence

from shared.params import LineParams
from worker.engine.analysers.lines import LineCounter
from worker.engine.context import FrameObject
from worker.engine.outputs import TimelineEvent

# Drawn bottom to top: facing up the frame, the left hand is at x < 0.5, the right at x > 0.5.
UPWARDS = LineParams(name="gate", start=(0.5, 1.0), end=(0.5, 0.0))


def _obj(
    x: float, y: float, track_id: int | None = 1, label: str = "person", index: int = 0
) -> FrameObject:
    """An object whose anchor (bottom centre) is (x, y)."""
    return FrameObject(
        index=index, label=label, track_id=track_id, bbox=(x - 0.05, y - 0.2, x + 0.05, y)
    )


def _walk(
    counter: LineCounter,
    xs: Sequence[float],
    y: float = 0.5,
    track_id: int | None = 1,
    label: str = "person",
) -> list[TimelineEvent]:
    """Feeds one object along y = `y` through the given x positions, 0.5 s apart."""
    events: list[TimelineEvent] = []
    for i, x in enumerate(xs):
        events += counter.update(i, i * 0.5, [_obj(x, y, track_id=track_id, label=label)])
    return events


def _directions(events: Sequence[TimelineEvent]) -> list[str]:
    return [event.data["direction"] for event in events]


def test_walking_left_to_right_across_an_upward_line_counts_in_once() -> None:
    counter = LineCounter([UPWARDS])
    events = _walk(counter, [0.1, 0.3, 0.45, 0.55, 0.7, 0.9])
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.frame_index, event.timestamp) == ("line_crossed", 3, 1.5)
    assert event.data == {"line": "gate", "direction": "in", "track_id": 1, "label": "person"}
    assert counter.summary() == {
        "gate": {"in": 1, "out": 0, "net": 1, "by_class": {"person": {"in": 1, "out": 0}}}
    }


def test_walking_back_counts_out() -> None:
    counter = LineCounter([UPWARDS])
    events = _walk(counter, [0.2, 0.8, 0.2])
    assert _directions(events) == ["in", "out"]
    summary = counter.summary()["gate"]
    assert (summary["in"], summary["out"], summary["net"]) == (1, 1, 0)


def test_direction_follows_the_way_the_line_is_drawn() -> None:
    # Drawn top to bottom: facing down the frame, the left hand is at x > 0.5 (y points down),
    # so the same left-to-right walk goes from its right-hand side to its left-hand side.
    downwards = LineParams(name="down", start=(0.5, 0.0), end=(0.5, 1.0))
    # Drawn left to right: facing +x, the right hand points down the frame.
    across = LineParams(name="across", start=(0.0, 0.5), end=(1.0, 0.5))
    counter = LineCounter([downwards, across])
    assert _directions(_walk(counter, [0.2, 0.8], y=0.3)) == ["out"]
    counter = LineCounter([downwards, across])
    events: list[TimelineEvent] = []
    for i, y in enumerate([0.2, 0.8]):
        events += counter.update(i, float(i), [_obj(0.3, y)])
    assert [(e.data["line"], e.data["direction"]) for e in events] == [("across", "in")]


def test_jitter_on_the_line_is_not_counted_repeatedly() -> None:
    counter = LineCounter([UPWARDS], hysteresis=0.01)
    # Standing on the line, wobbling within the band.
    assert _walk(counter, [0.3, 0.495, 0.505, 0.498, 0.508, 0.495, 0.505]) == []
    # Then stepping off to the right: a single "in".
    assert _directions(_walk(counter, [0.502, 0.52, 0.6])) == ["in"]


def test_coming_back_over_the_line_counts_in_then_out() -> None:
    counter = LineCounter([UPWARDS], hysteresis=0.01)
    assert _directions(_walk(counter, [0.4, 0.52, 0.505, 0.48, 0.4])) == ["in", "out"]


def test_a_jump_over_the_band_between_analysed_frames_counts() -> None:
    counter = LineCounter([UPWARDS])
    assert _directions(_walk(counter, [0.3, 0.7])) == ["in"]


def test_crossing_the_extension_outside_the_segment_is_not_counted() -> None:
    short = LineParams(name="door", start=(0.5, 0.4), end=(0.5, 0.0))
    counter = LineCounter([short])
    # Below the door's end: crosses x = 0.5 but not the segment.
    assert _walk(counter, [0.3, 0.7], y=0.8) == []
    # Back through the door itself, from the right-hand side: "out".
    assert _directions(_walk(counter, [0.7, 0.3], y=0.2)) == ["out"]
    assert counter.summary()["door"]["in"] == 0


def test_going_round_the_end_of_the_line_is_not_counted() -> None:
    short = LineParams(name="door", start=(0.5, 0.4), end=(0.5, 0.0))
    counter = LineCounter([short])
    events: list[TimelineEvent] = []
    path = [(0.3, 0.3), (0.3, 0.6), (0.7, 0.6), (0.7, 0.3)]
    for i, (x, y) in enumerate(path):
        events += counter.update(i, float(i), [_obj(x, y)])
    assert events == []


def test_appearing_on_the_far_side_is_not_a_crossing() -> None:
    counter = LineCounter([UPWARDS])
    assert _walk(counter, [0.7, 0.8, 0.9]) == []


def test_tracks_are_followed_separately() -> None:
    counter = LineCounter([UPWARDS])
    events: list[TimelineEvent] = []
    for i, (a, b) in enumerate([(0.3, 0.7), (0.7, 0.3)]):
        events += counter.update(
            i, float(i), [_obj(a, 0.5, track_id=1), _obj(b, 0.5, track_id=2, index=1)]
        )
    assert sorted((e.data["track_id"], e.data["direction"]) for e in events) == [
        (1, "in"),
        (2, "out"),
    ]


def test_line_classes_filter_what_counts() -> None:
    cars_only = LineParams(name="road", start=(0.5, 1.0), end=(0.5, 0.0), classes=("car",))
    counter = LineCounter([cars_only, UPWARDS])
    _walk(counter, [0.3, 0.7], label="person")
    _walk(counter, [0.3, 0.7], track_id=2, label="car")
    summary = counter.summary()
    json.dumps(summary)
    assert summary["road"] == {
        "in": 1,
        "out": 0,
        "net": 1,
        "by_class": {"car": {"in": 1, "out": 0}},
    }
    assert summary["gate"]["by_class"] == {
        "car": {"in": 1, "out": 0},
        "person": {"in": 1, "out": 0},
    }


def test_untracked_objects_are_ignored() -> None:
    counter = LineCounter([UPWARDS])
    assert _walk(counter, [0.3, 0.7, 0.3], track_id=None) == []
    assert counter.summary()["gate"] == {"in": 0, "out": 0, "net": 0, "by_class": {}}
