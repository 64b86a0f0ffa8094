"""Tracking: ultralytics' tracker on real frames, and the stitching that keeps a tracker's
lost-and-refound objects from counting twice."""

from __future__ import annotations

from collections import Counter

from shared.params import PeopleParams, TrackingParams
from tests.media import PEDESTRIANS
from worker.detectors.registry import get_detector
from worker.engine.analysers.tracking import IdStitcher, RawTracker
from worker.video.reader import read_frames

Box = tuple[float, float, float, float]


def walker(t: float, speed: float = 0.1, y: float = 0.4) -> Box:
    """A person-sized box moving right at `speed` frame-widths per second."""
    x = 0.1 + speed * t
    return (x, y, x + 0.05, y + 0.2)


def test_lost_and_refound_object_keeps_its_id() -> None:
    stitcher = IdStitcher(TrackingParams(stitch_gap_s=2.0, min_track_frames=3))
    ids = []
    for frame in range(10):
        ids += stitcher.update(frame, frame / 10, [(1, "person", walker(frame / 10))])
    # Missed for half a second; the tracker then calls it a new track 7.
    for frame in range(15, 25):
        ids += stitcher.update(frame, frame / 10, [(7, "person", walker(frame / 10))])
    assert set(ids) == {1}
    summary = stitcher.summary()
    assert summary["total_unique_objects"] == 1
    assert summary["raw_tracks"] == 2
    assert summary["stitched_id_switches"] == 1
    (track,) = stitcher.counted()
    assert track.first_frame == 0
    assert track.last_frame == 24
    assert track.frames == 20


def test_new_object_elsewhere_or_later_or_of_another_class_is_new() -> None:
    stitcher = IdStitcher(TrackingParams(stitch_gap_s=1.0, min_track_frames=1))
    for frame in range(5):
        stitcher.update(frame, frame / 10, [(1, "person", walker(frame / 10))])
    far = (0.8, 0.7, 0.85, 0.9)
    assert stitcher.update(6, 0.6, [(2, "person", far)]) == [2]
    assert stitcher.update(7, 0.7, [(3, "car", walker(0.7))]) == [3]
    assert stitcher.update(40, 4.0, [(4, "person", walker(4.0))]) == [4]
    assert stitcher.summary()["total_unique_objects"] == 4


def test_two_objects_present_together_are_never_merged() -> None:
    stitcher = IdStitcher(TrackingParams(min_track_frames=1))
    stitcher.update(0, 0.0, [(1, "person", walker(0.0))])
    # Track 2 appears right beside track 1 while 1 is still in view: a second person.
    ids = stitcher.update(1, 0.1, [(1, "person", walker(0.1)), (2, "person", walker(0.1, y=0.45))])
    assert ids == [1, 2]


def test_short_tracks_are_not_counted() -> None:
    stitcher = IdStitcher(TrackingParams(min_track_frames=3, stitch_gap_s=0.0))
    for frame in range(5):
        stitcher.update(frame, frame / 10, [(1, "person", walker(frame / 10))])
    stitcher.update(6, 0.6, [(9, "dog", (0.5, 0.5, 0.6, 0.6))])
    summary = stitcher.summary()
    assert summary["unique_objects"] == {"person": 1}
    assert summary["short_tracks_ignored"] == 1


def test_tracker_follows_people_in_real_video() -> None:
    detector = get_detector(PeopleParams(confidence=0.3, min_box_size=0))
    tracker = RawTracker(TrackingParams(), analysed_fps=25)
    per_frame = []
    for _, frame in read_frames(PEDESTRIANS, max_frames=40):
        detections = detector.detect(frame)
        per_frame.append(tracker.update(detections))
    tracked = Counter(i for ids in per_frame[5:] for i in ids if i is not None)
    detections_seen = sum(len(ids) for ids in per_frame[5:])
    # Most boxes carry an id, and ids persist: far fewer ids than tracked boxes.
    assert sum(tracked.values()) >= 0.7 * detections_seen
    assert len(tracked) < sum(tracked.values()) / 10
    # Ids are unique within a frame.
    for ids in per_frame:
        present = [i for i in ids if i is not None]
        assert len(present) == len(set(present))
