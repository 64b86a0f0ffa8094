"""Motion segments: hysteresis over the detector's per-frame verdicts, and the events they emit."""

from __future__ import annotations

from shared.params import MotionParams
from worker.engine.analysers.motion import MotionTimeline
from worker.engine.outputs import TimelineEvent

FPS = 10.0


def feed(timeline: MotionTimeline, pattern: str, intensity: float = 0.2) -> list[TimelineEvent]:
    """One frame per character at FPS: `#` moving, `.` still; then the video ends."""
    events: list[TimelineEvent] = []
    for index, char in enumerate(pattern):
        moving = char == "#"
        events += timeline.update(
            index, index / FPS, moving, intensity if moving else 0.0, 2.0 if moving else 0.0
        )
    last = len(pattern) - 1
    return events + timeline.finish(last, last / FPS)


def timeline(min_segment_s: float = 0.5, merge_gap_s: float = 1.0) -> MotionTimeline:
    return MotionTimeline(MotionParams(min_segment_s=min_segment_s, merge_gap_s=merge_gap_s))


def test_a_blip_shorter_than_min_segment_is_no_segment() -> None:
    motion = timeline()
    events = feed(motion, "....###" + "." * 20)  # 0.2 s of motion
    assert events == []
    assert motion.segments() == []
    summary = motion.summary()
    assert summary["motion_frames"] == 3
    assert summary["motion_seconds"] == 0.0


def test_one_segment_with_its_real_start_and_end() -> None:
    motion = timeline()
    events = feed(motion, "..." + "#" * 10 + "." * 20)  # frames 3..12
    assert [(e.type, e.frame_index, e.timestamp) for e in events] == [
        ("motion_start", 3, 0.3),
        ("motion_end", 12, 1.2),
    ]
    assert events[1].data["segment"] == 0
    assert events[1].data["duration_s"] == 0.9
    [segment] = motion.segments()
    assert segment["start_frame"] == 3
    assert segment["end_frame"] == 12
    assert segment["duration_s"] == 0.9
    assert segment["mean_area_percentage"] == 2.0


def test_motion_start_is_emitted_once_the_segment_qualifies() -> None:
    motion = timeline(min_segment_s=0.5)
    emitted_at = []
    for index in range(10):
        for event in motion.update(index, index / FPS, True, 0.3, 1.0):
            emitted_at.append(index)
            assert (event.type, event.frame_index, event.timestamp) == ("motion_start", 0, 0.0)
            # The event says both when the segment started and when it became known.
            assert (event.emitted_frame_index, event.emitted_at) == (index, index / FPS)
    assert emitted_at == [5]


def test_motion_end_is_emitted_once_the_stillness_has_lasted() -> None:
    motion = timeline(min_segment_s=0.5, merge_gap_s=1.0)
    events = feed(motion, "#" * 8 + "." * 15)  # moving up to frame 7, at 0.7 s
    end = events[-1]
    assert (end.type, end.frame_index, end.timestamp) == ("motion_end", 7, 0.7)
    # Still for merge_gap_s after the last moving frame: frame 17, at 1.7 s.
    assert (end.emitted_frame_index, end.emitted_at) == (17, 1.7)


def test_stillness_shorter_than_merge_gap_joins_two_bursts() -> None:
    motion = timeline(merge_gap_s=1.0)
    events = feed(motion, "#" * 6 + "." * 5 + "#" * 6 + "." * 15)
    assert [e.type for e in events] == ["motion_start", "motion_end"]
    [segment] = motion.segments()
    assert (segment["start_frame"], segment["end_frame"]) == (0, 16)


def test_stillness_of_merge_gap_or_longer_splits_segments() -> None:
    motion = timeline(merge_gap_s=1.0)
    events = feed(motion, "#" * 6 + "." * 12 + "#" * 6 + "." * 15)
    assert [(e.type, e.frame_index, e.data["segment"]) for e in events] == [
        ("motion_start", 0, 0),
        ("motion_end", 5, 0),
        ("motion_start", 18, 1),
        ("motion_end", 23, 1),
    ]
    assert [s["start_frame"] for s in motion.segments()] == [0, 18]
    assert motion.summary()["motion_seconds"] == 1.0


def test_short_blips_joined_by_short_gaps_add_up_to_a_segment() -> None:
    motion = timeline(min_segment_s=0.5, merge_gap_s=1.0)
    events = feed(motion, "##...##...##" + "." * 15)  # each blip 0.1 s, together 1.1 s
    assert [e.type for e in events] == ["motion_start", "motion_end"]
    assert motion.segments()[0]["duration_s"] == 1.1


def test_open_segment_closes_at_the_last_frame() -> None:
    motion = timeline()
    for index in range(10):
        motion.update(index, index / FPS, index >= 2, 0.4 if index >= 2 else 0.0, 3.0)
    events = motion.finish(12, 1.2)
    assert [(e.type, e.frame_index, e.timestamp) for e in events] == [("motion_end", 12, 1.2)]
    assert motion.segments()[0]["end_frame"] == 12
    assert motion.finish(12, 1.2) == []


def test_motion_reaching_min_segment_only_at_the_end_still_counts() -> None:
    motion = timeline(min_segment_s=0.5)
    for index in range(4):
        motion.update(index, index / FPS, True, 0.2, 1.0)
    events = motion.finish(6, 0.6)
    assert [(e.type, e.frame_index) for e in events] == [("motion_start", 0), ("motion_end", 6)]


def test_a_pause_at_the_end_does_not_stretch_the_segment() -> None:
    motion = timeline(merge_gap_s=1.0)
    events = feed(motion, "#" * 8 + "...")
    assert events[-1].type == "motion_end"
    assert events[-1].frame_index == 7


def test_peak_intensity_and_summary() -> None:
    motion = timeline()
    for index, intensity in enumerate([0.1, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2]):
        motion.update(index, index / FPS, True, intensity, 1.0)
    events = motion.finish(6, 0.6)
    assert events[-1].data["peak_intensity"] == 0.5
    summary = motion.summary()
    assert summary["peak_intensity"] == 0.5
    assert summary["motion_frames"] == 7
    assert summary["segments"] == motion.segments()
