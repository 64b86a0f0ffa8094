from __future__ import annotations

import json
from collections.abc import Sequence

from shared.params import ZoneParams
from worker.engine.analysers.zones import ZoneMonitor
from worker.engine.context import FrameObject
from worker.engine.outputs import TimelineEvent

SQUARE = ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6))  # area 0.16
INSIDE, OUTSIDE = (0.4, 0.4), (0.8, 0.4)


def _obj(
    x: float, y: float, track_id: int | None = 1, label: str = "person", index: int = 0
) -> FrameObject:
    """An object whose anchor (bottom centre) is (x, y)."""
    return FrameObject(
        index=index, label=label, track_id=track_id, bbox=(x - 0.05, y - 0.2, x + 0.05, y)
    )


def _zone(**overrides: object) -> ZoneParams:
    return ZoneParams.model_validate({"name": "lobby", "polygon": SQUARE, **overrides})


def _walk(
    monitor: ZoneMonitor, positions: Sequence[tuple[float, float] | None], step_s: float = 1.0
) -> list[list[TimelineEvent]]:
    """Feeds one track (id 1) through frames 0, 1, ... at `step_s` apart (None: not detected);
    returns each update's events."""
    return [
        monitor.update(i, i * step_s, [] if at is None else [_obj(*at)]).events
        for i, at in enumerate(positions)
    ]


def _types(events: Sequence[TimelineEvent]) -> list[str]:
    return [event.type for event in events]


def test_membership_and_occupancy_count_tracked_and_untracked_objects() -> None:
    monitor = ZoneMonitor([_zone(), _zone(name="cars", classes=("car",))])
    frame = monitor.update(
        0,
        0.0,
        [
            _obj(*INSIDE, track_id=1, index=0),
            _obj(*INSIDE, track_id=None, index=1),
            _obj(*INSIDE, track_id=None, label="car", index=2),
            _obj(*OUTSIDE, track_id=2, index=3),
        ],
    )
    assert frame.membership == {0: ["lobby"], 1: ["lobby"], 2: ["lobby", "cars"], 3: []}
    assert frame.occupancy == {
        "lobby": {"count": 3, "by_class": {"car": 1, "person": 2}},
        "cars": {"count": 1, "by_class": {"car": 1}},
    }
    assert frame.events == []


def test_enter_and_exit_are_dated_at_the_first_sighting_and_carry_the_dwell() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)])
    events = _walk(monitor, [OUTSIDE, INSIDE, INSIDE, INSIDE, INSIDE, OUTSIDE, OUTSIDE])
    # Each change is confirmed by the second sighting, and dated back to the first.
    assert [_types(e) for e in events] == [[], [], ["zone_enter"], [], [], [], ["zone_exit"]]
    enter, exit_ = events[2][0], events[6][0]
    assert (enter.frame_index, enter.timestamp) == (1, 1.0)
    assert (enter.emitted_frame_index, enter.emitted_at) == (2, 2.0)
    assert (exit_.emitted_frame_index, exit_.emitted_at) == (6, 6.0)
    assert enter.data == {"zone": "lobby", "track_id": 1, "label": "person"}
    assert (exit_.frame_index, exit_.timestamp) == (5, 5.0)
    assert exit_.data == {
        "zone": "lobby",
        "track_id": 1,
        "label": "person",
        "dwell_s": 4.0,
        "reason": "left",
    }
    assert exit_.to_dict()["type"] == "zone_exit"


def test_dwell_uses_timestamps_not_frame_counts() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)])
    # Every 5th frame analysed at 25 fps: frames 0, 5, 10... at 0.2 s steps.
    events = [
        monitor.update(i * 5, i * 0.2, [_obj(*at)]).events
        for i, at in enumerate([INSIDE, INSIDE, INSIDE, OUTSIDE, OUTSIDE])
    ]
    exit_ = events[4][0]
    assert exit_.frame_index == 15
    assert exit_.data["dwell_s"] == 0.6


def test_a_single_sighting_across_the_edge_changes_nothing() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)])
    edge_out, edge_in = (0.61, 0.4), (0.59, 0.4)
    events = _walk(monitor, [edge_out, edge_in, edge_out, edge_in, edge_out])
    assert [e for frame in events for e in frame] == []
    events = _walk(monitor, [edge_in, edge_in, edge_out, edge_in, edge_out, edge_in])
    assert _types([e for frame in events for e in frame]) == ["zone_enter"]
    assert monitor.summary()["lobby"]["exits"] == 0


def test_loitering_fires_once_per_visit() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=3.0)])
    positions = [INSIDE] * 6 + [OUTSIDE] * 2 + [INSIDE] * 5
    events = _walk(monitor, positions)
    loitering = [(i, e) for i, frame in enumerate(events) for e in frame if e.type == "loitering"]
    # Visits start at t=0 and t=8: 3 s later each loiters, once.
    assert [(i, e.timestamp, e.data["dwell_s"]) for i, e in loitering] == [
        (3, 3.0, 3.0),
        (11, 11.0, 3.0),
    ]
    assert loitering[0][1].data["zone"] == "lobby"
    assert monitor.summary()["lobby"]["loitering_events"] == 2


def test_loitering_can_be_disabled() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)])
    events = _walk(monitor, [INSIDE] * 100)
    assert "loitering" not in _types([e for frame in events for e in frame])


def test_a_lost_track_exits_at_its_last_sighting_after_the_timeout() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)], lost_after_s=2.0)
    events = _walk(monitor, [INSIDE, INSIDE, INSIDE, None, None, None, None])
    # Last seen at t=2; at t=4 it has been gone 2 s (not longer), at t=5 it is lost.
    assert [_types(e) for e in events[3:]] == [[], [], ["zone_exit"], []]
    exit_ = events[5][0]
    assert (exit_.frame_index, exit_.timestamp) == (2, 2.0)
    assert exit_.data["reason"] == "lost"
    assert exit_.data["dwell_s"] == 2.0
    assert monitor.summary()["lobby"]["still_inside"] == 0


def test_a_lost_track_that_comes_back_enters_again() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)], lost_after_s=1.0)
    events = _walk(monitor, [INSIDE, INSIDE, None, None, INSIDE, INSIDE])
    assert _types([e for frame in events for e in frame]) == [
        "zone_enter",
        "zone_exit",
        "zone_enter",
    ]
    summary = monitor.summary()["lobby"]
    assert (summary["entries"], summary["unique_objects"]) == (2, 1)


def test_sparse_frames_do_not_lose_a_track_seen_in_each_of_them() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)], lost_after_s=2.0)
    events = _walk(monitor, [INSIDE] * 4, step_s=5.0)
    assert _types([e for frame in events for e in frame]) == ["zone_enter"]


def test_finish_keeps_tracks_inside_at_the_end_open() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)], lost_after_s=2.0)
    _walk(monitor, [OUTSIDE, INSIDE, INSIDE, INSIDE])
    assert monitor.finish(4, 4.0) == []
    summary = monitor.summary()["lobby"]
    assert summary["still_inside"] == 1
    assert (summary["entries"], summary["exits"]) == (1, 0)
    # The open visit counts with its dwell up to the end: 1.0 -> 4.0.
    assert (summary["mean_dwell_s"], summary["max_dwell_s"]) == (3.0, 3.0)


def test_finish_closes_tracks_lost_before_the_end() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=None)], lost_after_s=2.0)
    _walk(monitor, [INSIDE, INSIDE])
    events = monitor.finish(10, 10.0)
    assert _types(events) == ["zone_exit"]
    assert events[0].timestamp == 1.0
    assert monitor.summary()["lobby"]["still_inside"] == 0


def test_untracked_objects_raise_no_events() -> None:
    monitor = ZoneMonitor([_zone(loiter_seconds=1.0)])
    frames = [monitor.update(i, float(i), [_obj(*INSIDE, track_id=None)]) for i in range(5)]
    assert all(frame.events == [] for frame in frames)
    assert monitor.finish(5, 5.0) == []
    summary = monitor.summary()["lobby"]
    assert (summary["entries"], summary["max_occupancy"], summary["mean_occupancy"]) == (0, 1, 1.0)


def test_zone_classes_filter_visits() -> None:
    monitor = ZoneMonitor([_zone(classes=("car",), loiter_seconds=None)])
    for i in range(3):
        monitor.update(
            i,
            float(i),
            [_obj(*INSIDE, track_id=1), _obj(*INSIDE, track_id=2, label="car", index=1)],
        )
    summary = monitor.summary()["lobby"]
    assert summary["entries"] == 1
    assert summary["by_class"] == {"car": 1}


def test_summary_totals() -> None:
    monitor = ZoneMonitor(
        [_zone(loiter_seconds=None), _zone(name="empty", polygon=((0.9, 0.9), (1, 0.9), (1, 1)))]
    )
    frames = [
        [_obj(*OUTSIDE, track_id=1)],
        [_obj(*INSIDE, track_id=1), _obj(*INSIDE, track_id=2, index=1)],
        [
            _obj(*INSIDE, track_id=1),
            _obj(*INSIDE, track_id=2, index=1),
            _obj(*INSIDE, track_id=3, label="dog", index=2),
        ],
        [
            _obj(*INSIDE, track_id=1),
            _obj(*OUTSIDE, track_id=2, index=1),
            _obj(*INSIDE, track_id=3, label="dog", index=2),
        ],
        [_obj(*INSIDE, track_id=1), _obj(*OUTSIDE, track_id=2, index=1)],
    ]
    for i, objects in enumerate(frames):
        monitor.update(i, i * 0.5, objects)
    monitor.finish(4, 2.0)
    summary = monitor.summary()
    json.dumps(summary)
    lobby = summary["lobby"]
    assert lobby == {
        "area": 0.16,
        "entries": 3,
        "exits": 1,
        "unique_objects": 3,
        "by_class": {"dog": 1, "person": 2},
        "max_occupancy": 3,
        "max_occupancy_frame_index": 2,
        "max_occupancy_timestamp": 1.0,
        "mean_occupancy": 1.6,  # (0 + 2 + 3 + 2 + 1) / 5
        # Track 2 left: 0.5 -> 1.5; tracks 1 and 3 still inside: 0.5 -> 2.0, 1.0 -> 2.0.
        "mean_dwell_s": 1.167,
        "max_dwell_s": 1.5,
        "loitering_events": 0,
        "still_inside": 2,
    }
    assert summary["empty"]["area"] == 0.005
    assert summary["empty"]["max_occupancy"] == 0
    assert summary["empty"]["mean_dwell_s"] == 0.0


def test_summary_before_any_frame() -> None:
    summary = ZoneMonitor([_zone()]).summary()["lobby"]
    assert summary["max_occupancy_frame_index"] is None
    assert summary["mean_occupancy"] == 0.0


def test_dwell_by_track_adds_up_visits_and_counts_an_open_one_so_far() -> None:
    monitor = ZoneMonitor([_zone()])
    # In from t=1 to the exit confirmed at t=4 (dated t=4 s, the first sighting outside),
    # back in from t=6 and still inside at t=8.
    _walk(monitor, [OUTSIDE, INSIDE, INSIDE, INSIDE, OUTSIDE, OUTSIDE, INSIDE, INSIDE, INSIDE])
    dwell = monitor.dwell_by_track()
    assert dwell == {1: {"lobby": 3.0 + 2.0}}
    summary = monitor.summary()["lobby"]
    assert summary["entries"] == 2
    assert summary["still_inside"] == 1
