"""Persistent identities across video frames: ByteTrack or BoT-SORT (bytetrack.py, numpy only,
so that a worker serving an OpenVINO model never loads torch) assigns raw track ids;
`IdStitcher` then joins a new raw track to a recently lost one of the same class that was
heading there, so that a tracker losing an object for a moment (occlusion, a missed detection,
a crossing) does not make one person two in the unique counts."""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.params import TrackingParams
from worker.detectors.base import Detection
from worker.engine.analysers.base import Analyser, Stream
from worker.engine.analysers.bytetrack import ByteTracker, TrackerConfig
from worker.engine.context import FrameContext

# How long the tracker keeps a lost track to re-find it by itself, in seconds of video.
TRACK_BUFFER_S = 1.0
# The most path points kept per track; older points are thinned out evenly.
PATH_POINTS = 32
# A lost object continues in a new track only if the new box appears within this many
# box sizes of where the lost one was heading, with a comparable size.
STITCH_DISTANCE_BOXES = 1.5
STITCH_SIZE_RATIO = 2.0


class RawTracker:
    """One ByteTrack or BoT-SORT tracker (bytetrack.py) for one video: detections in, a raw
    track id (or None while a new track is still unconfirmed) per detection out."""

    def __init__(self, params: TrackingParams, analysed_fps: float) -> None:
        config = TrackerConfig(track_buffer=max(1, round(analysed_fps * TRACK_BUFFER_S)))
        self._tracker = ByteTracker(config, params.tracker)

    def update(self, detections: Sequence[Detection]) -> list[int | None]:
        """The tracker follows boxes alone (no camera-motion compensation, no
        re-identification), so it needs no frame."""
        boxes = np.array([[d.x1, d.y1, d.x2, d.y2] for d in detections], dtype=np.float32)
        scores = np.array([d.confidence for d in detections], dtype=np.float32)
        return self._tracker.update(boxes, scores)

    def held(self) -> set[int]:
        """The raw ids the tracker may still give: its tracks followed or lost. It matches
        detections to these only and gives a new track a new id, so any other raw id it once
        gave is never given again."""
        tracker = self._tracker
        return {track.track_id for track in (*tracker.tracked, *tracker.lost)}


@dataclass
class Track:
    """One object as the summary reports it (normalised coordinates)."""

    track_id: int
    label: str
    first_frame: int
    first_seen: float
    last_frame: int
    last_seen: float
    bbox: tuple[float, float, float, float]
    frames: int = 1
    raw_tracks: int = 1  # the tracker's tracks joined into this one
    velocity: tuple[float, float] = (0.0, 0.0)  # centre movement per second
    path: list[tuple[float, float, float]] = field(default_factory=list)  # (t, x, y) anchors

    @property
    def centre(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.bbox
        return ((x1 + x2) / 2, (y1 + y2) / 2)

    @property
    def size(self) -> float:
        x1, y1, x2, y2 = self.bbox
        return math.hypot(x2 - x1, y2 - y1)

    def observe(self, frame_index: int, timestamp: float, bbox: tuple[float, ...]) -> None:
        dt = timestamp - self.last_seen
        (cx, cy), new_bbox = self.centre, (bbox[0], bbox[1], bbox[2], bbox[3])
        if dt > 0:
            nx, ny = (new_bbox[0] + new_bbox[2]) / 2, (new_bbox[1] + new_bbox[3]) / 2
            # Smoothed, so one jittery box does not throw the prediction off.
            vx, vy = (nx - cx) / dt, (ny - cy) / dt
            self.velocity = (0.7 * self.velocity[0] + 0.3 * vx, 0.7 * self.velocity[1] + 0.3 * vy)
        self.bbox = new_bbox
        self.last_frame, self.last_seen = frame_index, timestamp
        self.frames += 1
        self._add_point(timestamp)

    def _add_point(self, timestamp: float) -> None:
        x1, _, x2, y2 = self.bbox
        self.path.append((round(timestamp, 3), round((x1 + x2) / 2, 4), round(y2, 4)))
        if len(self.path) > PATH_POINTS:
            # Keep the first and last points, thin the middle.
            self.path = self.path[:1] + self.path[1:-1:2] + self.path[-1:]

    def predicted_centre(self, timestamp: float) -> tuple[float, float]:
        dt = timestamp - self.last_seen
        cx, cy = self.centre
        return (cx + self.velocity[0] * dt, cy + self.velocity[1] * dt)

    def summary(self, zone_dwell: dict[str, float]) -> dict[str, Any]:
        """`zone_dwell`: seconds spent in each zone (ZoneMonitor keeps the visits)."""
        return {
            "track_id": self.track_id,
            "label": self.label,
            "first_frame": self.first_frame,
            "first_seen": round(self.first_seen, 3),
            "last_frame": self.last_frame,
            "last_seen": round(self.last_seen, 3),
            "duration_s": round(self.last_seen - self.first_seen, 3),
            "frames": self.frames,
            "stitched_from": self.raw_tracks,
            "path": [list(point) for point in self.path],
            "zone_dwell_s": zone_dwell,
        }


class IdStitcher:
    """Maps the tracker's raw ids to stable track ids and keeps each track's history."""

    def __init__(self, params: TrackingParams) -> None:
        self.params = params
        self.tracks: dict[int, Track] = {}
        self._stable: dict[int, int] = {}
        self.stitched = 0

    def update(
        self,
        frame_index: int,
        timestamp: float,
        observations: Sequence[tuple[int, str, tuple[float, float, float, float]]],
    ) -> list[int]:
        """`observations` are (raw id, label, normalised box); returns the stable ids."""
        present = {self._stable[raw] for raw, _, _ in observations if raw in self._stable}
        stable_ids = []
        for raw, label, bbox in observations:
            stable = self._stable.get(raw)
            if stable is None:
                stable = self._start(raw, label, bbox, frame_index, timestamp, present)
                present.add(stable)
            else:
                self.tracks[stable].observe(frame_index, timestamp, bbox)
            stable_ids.append(stable)
        return stable_ids

    def _start(
        self,
        raw: int,
        label: str,
        bbox: tuple[float, float, float, float],
        frame_index: int,
        timestamp: float,
        present: set[int],
    ) -> int:
        lost = self._continuation(label, bbox, timestamp, present)
        if lost is not None:
            self.stitched += 1
            lost.raw_tracks += 1
            lost.observe(frame_index, timestamp, bbox)
            self._stable[raw] = lost.track_id
            return lost.track_id
        track = Track(raw, label, frame_index, timestamp, frame_index, timestamp, bbox)
        track._add_point(timestamp)
        self.tracks[raw] = track
        self._stable[raw] = raw
        return raw

    def _continuation(
        self,
        label: str,
        bbox: tuple[float, float, float, float],
        timestamp: float,
        present: set[int],
    ) -> Track | None:
        cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        size = math.hypot(bbox[2] - bbox[0], bbox[3] - bbox[1])
        best: tuple[float, Track] | None = None
        for track in self.tracks.values():
            gap = timestamp - track.last_seen
            if track.track_id in present or track.label != label:
                continue
            if not 0 < gap <= self.params.stitch_gap_s:
                continue
            if not 1 / STITCH_SIZE_RATIO <= size / max(track.size, 1e-9) <= STITCH_SIZE_RATIO:
                continue
            px, py = track.predicted_centre(timestamp)
            distance = math.hypot(cx - px, cy - py) / max(track.size, 1e-9)
            if distance <= STITCH_DISTANCE_BOXES and (best is None or distance < best[0]):
                best = (distance, track)
        return best[1] if best else None

    def forget(self, timestamp: float, held: Set[int]) -> list[int]:
        """For a live stream, which keeps no summary: forgets the raw ids the tracker no longer
        `held`s, which never come back, and the tracks that no raw id leads to any more and
        that have been lost too long to be continued; returns the ids of those tracks."""
        for raw in [raw for raw in self._stable if raw not in held]:
            del self._stable[raw]
        reachable = set(self._stable.values())
        gone = [
            track_id
            for track_id, track in self.tracks.items()
            if track_id not in reachable and timestamp - track.last_seen > self.params.stitch_gap_s
        ]
        for track_id in gone:
            del self.tracks[track_id]
        return gone

    def counted(self) -> list[Track]:
        """Tracks seen long enough to count as an object (shorter ones are tracker noise)."""
        return [t for t in self.tracks.values() if t.frames >= self.params.min_track_frames]

    def summary(self) -> dict[str, Any]:
        counted = self.counted()
        unique: dict[str, int] = {}
        for track in counted:
            unique[track.label] = unique.get(track.label, 0) + 1
        return {
            "tracker": self.params.tracker,
            "raw_tracks": len(self._stable),
            "stitched_id_switches": self.stitched,
            "short_tracks_ignored": len(self.tracks) - len(counted),
            "min_track_frames": self.params.min_track_frames,
            "unique_objects": dict(sorted(unique.items(), key=lambda kv: -kv[1])),
            "total_unique_objects": len(counted),
        }


class TrackingAnalyser(Analyser):
    """Gives every observation with an identity (not a moving region) its stable track id,
    once the tracker has confirmed it. On a live stream, forgets the tracks gone for good and
    says which in `ctx.gone`."""

    def __init__(self, tracker: RawTracker, stitcher: IdStitcher, *, live: bool) -> None:
        self.tracker = tracker
        self.stitcher = stitcher
        self.live = live

    def observe(self, ctx: FrameContext) -> None:
        trackable = [o for o in ctx.observations if o.role != "measurement"]
        raw = self.tracker.update([o.detection for o in trackable])
        observed = [(o, r) for o, r in zip(trackable, raw, strict=True) if r is not None]
        stable = self.stitcher.update(
            ctx.frame_index, ctx.timestamp, [(r, o.label, o.box) for o, r in observed]
        )
        for (observation, _), track_id in zip(observed, stable, strict=True):
            observation.track_id = track_id
        ctx.tracked = True
        if self.live:
            ctx.gone = self.stitcher.forget(ctx.timestamp, self.tracker.held())

    def summarise(self, summary: dict[str, Any]) -> None:
        tracking = self.stitcher.summary()
        summary["tracking"] = tracking
        summary["unique_objects"] = tracking["unique_objects"]
        summary["total_unique_objects"] = tracking["total_unique_objects"]
        # Zones, when the job has some, fill in each track's dwell.
        summary["tracks"] = [track.summary({}) for track in self.stitcher.counted()]


def build(stream: Stream) -> TrackingAnalyser | None:
    if not stream.tracked:
        return None
    tracking = stream.params.tracking
    return TrackingAnalyser(
        RawTracker(tracking, stream.analysed_fps), IdStitcher(tracking), live=stream.live
    )
