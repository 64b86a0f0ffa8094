"""Aggregates per-frame detections into a job summary: totals, and one row per second of video
(so it grows with the video's length; a live pipeline keeps none)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.contracts import object_type


@dataclass
class _Second:
    frames: int = 0
    detections: int = 0
    max_people: int = 0
    max_objects: int = 0


@dataclass
class SummaryBuilder:
    frames: int = 0
    detections: int = 0
    class_counts: Counter[str] = field(default_factory=Counter)
    class_max: Counter[str] = field(default_factory=Counter)
    people_total: int = 0
    people_max: int = 0
    vehicles_max: int = 0
    peak_frame: int | None = None
    peak_count: int = -1
    peak_timestamp: float | None = None
    seconds: dict[int, _Second] = field(default_factory=dict)

    def add(self, frame_index: int, timestamp: float, detections: list[dict[str, Any]]) -> None:
        labels = Counter(d["label"] for d in detections)
        people = labels.get("person", 0)
        vehicles = sum(n for label, n in labels.items() if object_type(label) == "vehicle")
        self.frames += 1
        self.detections += len(detections)
        self.class_counts.update(labels)
        for label, n in labels.items():
            self.class_max[label] = max(self.class_max[label], n)
        self.people_total += people
        self.people_max = max(self.people_max, people)
        self.vehicles_max = max(self.vehicles_max, vehicles)
        if len(detections) > self.peak_count:
            self.peak_frame, self.peak_count, self.peak_timestamp = (
                frame_index,
                len(detections),
                timestamp,
            )
        second = self.seconds.setdefault(int(timestamp), _Second())
        second.frames += 1
        second.detections += len(detections)
        second.max_people = max(second.max_people, people)
        second.max_objects = max(second.max_objects, len(detections))

    @property
    def dominant_object(self) -> str | None:
        return self.class_counts.most_common(1)[0][0] if self.class_counts else None

    def video_summary(self) -> dict[str, Any]:
        return {
            "frames_analyzed": self.frames,
            "total_detections": self.detections,
            "detections_per_frame": round(self.detections / self.frames, 3) if self.frames else 0,
            "class_counts": dict(self.class_counts.most_common()),
            "max_per_frame": dict(self.class_max.most_common()),
            "max_people_per_frame": self.people_max,
            "mean_people_per_frame": round(self.people_total / self.frames, 3)
            if self.frames
            else 0,
            "max_vehicles_per_frame": self.vehicles_max,
            "dominant_object": self.dominant_object,
            "peak_activity_frame": self.peak_frame,
            "peak_activity_timestamp": self.peak_timestamp,
            "activity_timeline": [
                {
                    "second": s,
                    "frames": row.frames,
                    "detections": row.detections,
                    "mean_detections": round(row.detections / row.frames, 3),
                    "max_objects": row.max_objects,
                    "max_people": row.max_people,
                }
                for s, row in sorted(self.seconds.items())
            ],
        }

    def image_summary(self) -> dict[str, Any]:
        return {
            "total_objects": self.detections,
            "people_count": self.people_max,
            "vehicles_count": self.vehicles_max,
            "faces_count": self.class_max.get("face", 0),
            "dominant_object": self.dominant_object,
            "class_counts": dict(self.class_counts.most_common()),
        }
