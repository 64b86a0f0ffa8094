from __future__ import annotations

import json

from shared.params import CrowdLevel, CrowdParams, ZoneParams
from worker.engine.analysers.crowd import CrowdMonitor

QUARTER = ZoneParams(name="quarter", polygon=((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)))
TENTH = ZoneParams(name="tenth", polygon=((0.0, 0.9), (1.0, 0.9), (1.0, 1.0), (0.0, 1.0)))


def test_levels_follow_the_count_and_changes_raise_events() -> None:
    monitor = CrowdMonitor(CrowdParams(), [])
    counts = [3, 0, 5, 12, 12, 30, 60]
    frames = [monitor.update(i, float(i), people, {}) for i, people in enumerate(counts)]
    assert [frame.metrics["crowd_level"] for frame in frames] == [
        "low",
        "empty",
        "low",
        "medium",
        "medium",
        "high",
        "critical",
    ]
    # No event for the first frame's level, one per change after it.
    changes = [(e.frame_index, e.data["from"], e.data["to"]) for f in frames for e in f.events]
    assert changes == [
        (1, "low", "empty"),
        (2, "empty", "low"),
        (3, "low", "medium"),
        (5, "medium", "high"),
        (6, "high", "critical"),
    ]
    event = frames[3].events[0]
    assert (event.type, event.timestamp, event.data["people_count"]) == (
        "crowd_level_changed",
        3.0,
        12,
    )


def test_level_boundaries_are_inclusive() -> None:
    monitor = CrowdMonitor(CrowdParams(), [])
    assert monitor.update(0, 0.0, 9, {}).metrics["crowd_level"] == "low"
    assert monitor.update(1, 1.0, 10, {}).metrics["crowd_level"] == "medium"


def test_no_level_below_the_lowest_one() -> None:
    params = CrowdParams(
        levels=(CrowdLevel(name="busy", min_people=5), CrowdLevel(name="some", min_people=1))
    )
    monitor = CrowdMonitor(params, [])
    assert monitor.update(0, 0.0, 0, {}).metrics["crowd_level"] is None
    frame = monitor.update(1, 1.0, 6, {})
    assert frame.metrics["crowd_level"] == "busy"
    assert frame.events[0].data == {"from": None, "to": "busy", "people_count": 6}


def test_densities_are_people_per_share_of_the_frame() -> None:
    monitor = CrowdMonitor(CrowdParams(), [QUARTER, TENTH])
    metrics = monitor.update(0, 0.0, 5, {"quarter": 3, "unknown": 7}).metrics
    assert metrics == {
        "people_count": 5,
        "crowd_level": "low",
        "density": 5.0,
        "zone_density": {"quarter": 12.0, "tenth": 0.0},
    }


def test_summary_peaks_means_and_time_per_level() -> None:
    monitor = CrowdMonitor(CrowdParams(), [QUARTER, TENTH])
    # Frames at uneven times (frame_skip and dropped frames): durations come from timestamps.
    for frame_index, timestamp, people, quarter, tenth in [
        (0, 0.0, 0, 0, 0),
        (10, 1.0, 12, 2, 1),
        (20, 2.0, 12, 4, 1),
        (30, 4.0, 3, 4, 0),
        (40, 5.0, 3, 1, 0),
    ]:
        monitor.update(frame_index, timestamp, people, {"quarter": quarter, "tenth": tenth})
    summary = monitor.summary()
    json.dumps(summary)
    assert summary["peak_people"] == 12
    assert (summary["peak_frame_index"], summary["peak_timestamp"]) == (10, 1.0)
    assert summary["mean_people"] == 6.0
    # empty 0-1, medium 1-4, low 4-5 and the last frame for one more interval (5-6).
    assert summary["levels"] == {
        "empty": 1.0,
        "low": 2.0,
        "medium": 3.0,
        "high": 0.0,
        "critical": 0.0,
    }
    assert summary["zone_peaks"] == {
        "quarter": {"peak_people": 4, "peak_density": 16.0, "timestamp": 2.0},
        "tenth": {"peak_people": 1, "peak_density": 10.0, "timestamp": 1.0},
    }


def test_summary_of_a_single_frame() -> None:
    monitor = CrowdMonitor(CrowdParams(), [])
    frame = monitor.update(0, 0.0, 2, {})
    assert frame.events == []
    summary = monitor.summary()
    assert (summary["peak_people"], summary["peak_frame_index"], summary["mean_people"]) == (
        2,
        0,
        2.0,
    )
    assert set(summary["levels"].values()) == {0.0}


def test_summary_before_any_frame() -> None:
    summary = CrowdMonitor(CrowdParams(), [QUARTER]).summary()
    assert summary["peak_frame_index"] is None
    assert summary["peak_timestamp"] is None
    assert summary["mean_people"] == 0.0
    assert summary["zone_peaks"]["quarter"]["timestamp"] is None
