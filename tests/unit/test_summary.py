from __future__ import annotations

from typing import Any

from worker.engine.summary import SummaryBuilder


def _det(label: str) -> dict[str, Any]:
    return {"label": label}


def test_video_summary_aggregates_frames() -> None:
    builder = SummaryBuilder()
    builder.add(0, 0.0, [_det("person"), _det("person"), _det("car")])
    builder.add(5, 0.5, [_det("person")])
    builder.add(10, 1.0, [_det("person"), _det("person"), _det("person"), _det("dog")])
    summary = builder.video_summary()
    assert summary["frames_analyzed"] == 3
    assert summary["total_detections"] == 8
    assert summary["class_counts"] == {"person": 6, "car": 1, "dog": 1}
    assert summary["max_per_frame"]["person"] == 3
    assert summary["max_people_per_frame"] == 3
    assert summary["mean_people_per_frame"] == 2.0
    assert summary["max_vehicles_per_frame"] == 1
    assert summary["dominant_object"] == "person"
    assert summary["peak_activity_frame"] == 10
    assert summary["peak_activity_timestamp"] == 1.0
    assert summary["activity_timeline"] == [
        {
            "second": 0,
            "frames": 2,
            "detections": 4,
            "mean_detections": 2.0,
            "max_objects": 3,
            "max_people": 2,
        },
        {
            "second": 1,
            "frames": 1,
            "detections": 4,
            "mean_detections": 4.0,
            "max_objects": 4,
            "max_people": 3,
        },
    ]


def test_empty_and_image_summaries() -> None:
    empty = SummaryBuilder()
    assert empty.video_summary()["dominant_object"] is None
    assert empty.video_summary()["peak_activity_frame"] is None
    image = SummaryBuilder()
    image.add(0, 0.0, [_det("person"), _det("bus"), _det("person"), _det("face")])
    assert image.image_summary() == {
        "total_objects": 4,
        "people_count": 2,
        "vehicles_count": 1,
        "faces_count": 1,
        "dominant_object": "person",
        "class_counts": {"person": 2, "bus": 1, "face": 1},
    }
