"""ByteTrack in numpy, and its BoT-SORT variant, without torch.

ByteTrack (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection
Box", ECCV 2022) follows every box, confident or not: confident boxes are matched to the
tracks first, and the weak ones left (often a partly hidden object) then extend the tracks
still unmatched, where a plain tracker would drop them and lose the object. This module is
written from the paper and follows the structure of the MIT-licensed implementations
(ifzhang/ByteTrack, roboflow/supervision's ByteTrack).

It reproduces ultralytics' `BYTETracker` and `BOTSORT` (8.4; the worker used them before, and
they import torch): the same thresholds (TrackerConfig), stages and bookkeeping, so it gives
the same raw ids, in the same order, on the same detections (tests/unit/test_bytetrack.py
compares them). Where that differs from the original ByteTrack: a score of exactly
`track_high_thresh` counts as high, a new track needs `new_track_thresh` (not
`track_thresh + 0.1`), empty boxes are ignored, and IoU has no "+1 pixel" in its areas.

BoT-SORT (Aharon et al., 2022) is ByteTrack with a Kalman state of (centre, width, height)
instead of (centre, aspect, height), camera-motion compensation and re-identification. A
surveillance camera stands still, and we run no re-identification model: without them its
proximity and appearance thresholds gate nothing, its cost is ByteTrack's fused IoU, and the
filter is all that is left of it.

Per frame:
1. Detections scoring at least `track_high_thresh` are "high", those between
   `track_low_thresh` and it "low"; the rest (and empty boxes) are ignored.
2. Every confirmed track, followed or lost, is predicted one frame on (a lost one keeps its
   size) and matched to the high detections by IoU distance (fused with the score).
3. Tracks followed until now that are still unmatched are matched to the low detections by
   IoU alone; those left are lost.
4. Unconfirmed tracks (started in the previous frame) are matched to the high detections
   left; an unmatched one is dropped, so a track needs two frames to be confirmed (tracks of
   the first frame are confirmed at once).
5. High detections still left that score at least `new_track_thresh` start unconfirmed tracks.
6. A lost track is given up once more than `track_buffer` frames have passed since it was
   last seen (it can still be found in the frame after: see `ByteTracker.update`).
7. A followed and a lost track on the same box (IoU above 0.85) are one object: the younger
   one is dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

import lap
import numpy as np
from numpy.typing import NDArray

from worker.engine.analysers.kalman import (
    Array,
    BoxKalmanFilter,
    XYAHKalmanFilter,
    XYWHKalmanFilter,
)

Variant = Literal["bytetrack", "botsort"]
Boxes = NDArray[np.float32]

MOTION_MODELS: dict[Variant, type[BoxKalmanFilter]] = {
    "bytetrack": XYAHKalmanFilter,
    "botsort": XYWHKalmanFilter,
}
# Fixed by the algorithm, not configurable in ultralytics either: the most IoU distance of a
# low detection's match (IoU alone: fusing a low score would price every such match out),
SECOND_MATCH_THRESH = 0.5
# of an unconfirmed track's second box,
UNCONFIRMED_MATCH_THRESH = 0.7
# and the IoU distance under which a followed and a lost track are one object.
DUPLICATE_THRESH = 0.15
IOU_EPS = 1e-7


@dataclass(frozen=True)
class TrackerConfig:
    """ultralytics' defaults, in cfg/trackers/bytetrack.yaml and the same in botsort.yaml."""

    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.25
    # Frames a lost track is kept to be found again.
    track_buffer: int = 30
    # The most IoU distance of a high detection's match.
    match_thresh: float = 0.8
    # Weigh the IoU of a high detection by its score, so that a confident box wins a track.
    fuse_score: bool = True


class State(Enum):
    """REMOVED: an unconfirmed track without its second box, or a lost track given up."""

    TRACKED = 1
    LOST = 2
    REMOVED = 3


@dataclass(eq=False)
class Tracklet:
    """One track: its Kalman state and where it stands."""

    track_id: int
    mean: Array
    covariance: Array
    detection: int  # index of its latest box among that frame's detections
    start_frame: int
    last_frame: int
    confirmed: bool
    state: State = State.TRACKED
    expired: int | None = None  # the frame it was given up in


@dataclass(frozen=True)
class _Detections:
    """A frame's high or low detections."""

    boxes: Boxes  # (N, 4) corners
    scores: NDArray[np.float32]
    index: NDArray[np.intp]  # their positions among the frame's detections
    measurements: Array = field(repr=False)

    def take(self, rows: Sequence[int]) -> _Detections:
        picked = np.asarray(rows, dtype=np.intp)
        return _Detections(
            self.boxes[picked], self.scores[picked], self.index[picked], self.measurements[picked]
        )


class ByteTracker:
    """One video's tracker: boxes in, per box its track id (None while unconfirmed) out."""

    def __init__(self, config: TrackerConfig | None = None, variant: Variant = "bytetrack") -> None:
        self.config = config or TrackerConfig()
        self.kalman = MOTION_MODELS[variant]()
        self.tracked: list[Tracklet] = []  # followed until the last frame, confirmed or not
        self.lost: list[Tracklet] = []
        self.frame_id = 0
        self._ids = itertools.count(1)

    def update(self, boxes: NDArray[np.floating], scores: NDArray[np.floating]) -> list[int | None]:
        """`boxes`: (N, 4) corners (x1, y1, x2, y2) in pixels; `scores`: (N,) confidences."""
        self.frame_id += 1
        config = self.config
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        # Scores stay float32, as detectors give them, so that thresholds compare as in the
        # reference (a float32 0.1 is not above 0.1).
        scores = np.asarray(scores, dtype=np.float32)
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        high = self._detections(boxes, scores, valid & (scores >= config.track_high_thresh))
        low = self._detections(
            boxes,
            scores,
            valid & (scores > config.track_low_thresh) & (scores < config.track_high_thresh),
        )

        unconfirmed = [t for t in self.tracked if not t.confirmed]
        pool = [t for t in self.tracked if t.confirmed] + self.lost
        self._predict(pool)

        matches, left_tracks, left_high = _assign(self._distance(pool, high), config.match_thresh)
        refound = []
        for t, d in matches:
            if self._observe(pool[t], high, d):
                refound.append(pool[t])

        # Weak boxes only for the tracks followed until the last frame: a lost track's
        # prediction is too loose to trust a box that is likely background.
        remaining = [pool[t] for t in left_tracks if pool[t].state is State.TRACKED]
        distance = 1 - _iou(self._corners(remaining), low.boxes)
        matches, left_tracks, _ = _assign(distance, SECOND_MATCH_THRESH)
        for t, d in matches:
            self._observe(remaining[t], low, d)
        newly_lost = [remaining[t] for t in left_tracks]
        for track in newly_lost:
            track.state = State.LOST

        high = high.take(left_high)
        matches, left_tracks, left_high = _assign(
            self._distance(unconfirmed, high), UNCONFIRMED_MATCH_THRESH
        )
        for t, d in matches:
            self._observe(unconfirmed[t], high, d)
        for t in left_tracks:
            unconfirmed[t].state = State.REMOVED

        started = [
            self._start(high, d) for d in left_high if high.scores[d] >= config.new_track_thresh
        ]
        for track in self.lost:
            if self.frame_id - track.last_frame > config.track_buffer:
                track.state = State.REMOVED
                if track.expired is None:
                    track.expired = self.frame_id

        self.tracked = [t for t in self.tracked if t.state is State.TRACKED] + started + refound
        # A track given up stays in the lost pool until the next frame, and can still be found
        # in that one; found then, it is dropped as soon as it is lost again. That is the
        # reference implementations' bookkeeping (their removed tracks are only subtracted from
        # the lost pool a frame later), kept so that the ids stay theirs.
        self.lost = [
            t
            for t in [t for t in self.lost if t.state is not State.TRACKED] + newly_lost
            if t.expired is None or t.expired == self.frame_id
        ]
        self._drop_duplicates()

        ids: list[int | None] = [None] * len(boxes)
        for track in self.tracked:
            if track.confirmed:
                ids[track.detection] = track.track_id
        return ids

    def _detections(
        self, boxes: Boxes, scores: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> _Detections:
        return _Detections(
            boxes[mask], scores[mask], np.flatnonzero(mask), self.kalman.measure(boxes[mask])
        )

    def _predict(self, tracks: list[Tracklet]) -> None:
        if not tracks:
            return
        means = np.stack([t.mean for t in tracks])
        covariances = np.stack([t.covariance for t in tracks])
        lost = np.array([t.state is not State.TRACKED for t in tracks])
        means[lost, self.kalman.size_velocity] = 0
        means, covariances = self.kalman.predict(means, covariances)
        for track, mean, covariance in zip(tracks, means, covariances, strict=True):
            track.mean, track.covariance = mean, covariance

    def _corners(self, tracks: list[Tracklet]) -> Array:
        if not tracks:
            return np.zeros((0, 4))
        return self.kalman.corners(np.stack([t.mean for t in tracks]))

    def _distance(self, tracks: list[Tracklet], detections: _Detections) -> NDArray[np.float32]:
        iou = _iou(self._corners(tracks), detections.boxes)
        if self.config.fuse_score:
            iou = iou * detections.scores[None, :]
        return 1 - iou

    def _observe(self, track: Tracklet, detections: _Detections, row: int) -> bool:
        """Corrects a matched track with its box; says whether it was lost until now."""
        track.mean, track.covariance = self.kalman.update(
            track.mean, track.covariance, detections.measurements[row]
        )
        track.detection = int(detections.index[row])
        track.last_frame = self.frame_id
        track.confirmed = True
        was_lost = track.state is not State.TRACKED
        track.state = State.TRACKED
        return was_lost

    def _start(self, detections: _Detections, row: int) -> Tracklet:
        mean, covariance = self.kalman.initiate(detections.measurements[row])
        return Tracklet(
            track_id=next(self._ids),
            mean=mean,
            covariance=covariance,
            detection=int(detections.index[row]),
            start_frame=self.frame_id,
            last_frame=self.frame_id,
            confirmed=self.frame_id == 1,
        )

    def _drop_duplicates(self) -> None:
        distance = 1 - _iou(self._corners(self.tracked), self._corners(self.lost))
        drop_tracked, drop_lost = set(), set()
        for p, q in zip(*np.nonzero(distance < DUPLICATE_THRESH), strict=True):
            tracked, lost = self.tracked[p], self.lost[q]
            if tracked.last_frame - tracked.start_frame > lost.last_frame - lost.start_frame:
                drop_lost.add(int(q))
            else:
                drop_tracked.add(int(p))
        self.tracked = [t for i, t in enumerate(self.tracked) if i not in drop_tracked]
        self.lost = [t for i, t in enumerate(self.lost) if i not in drop_lost]


def _iou(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float32]:
    """(N, M) IoU of corner boxes, in float32 as the reference computes it."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = width.clip(0) * height.clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    result: NDArray[np.float32] = inter / (union + IOU_EPS)
    return result


def _assign(
    cost: NDArray[np.floating], limit: float
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """The matching of rows to columns that saves the most cost over leaving each side
    unmatched at `limit` per pair: matches, then unmatched rows and columns, in order.

    That is the assignment with a cost limit (lapjv's `cost_limit`, as the reference uses), not
    the cheapest full assignment with its pairs over the limit dropped afterwards: that one may
    give a track a poor box that is then dropped, at the cost of the track that box suited.
    lap's solver imports in a fraction of a second; scipy's would add seconds to a worker's
    start."""
    rows, cols = cost.shape
    if cost.size == 0:
        return [], list(range(rows)), list(range(cols))
    _, row_to_col, col_to_row = lap.lapjv(
        np.asarray(cost, dtype=np.float64), extend_cost=True, cost_limit=limit
    )
    matches = [(int(r), int(c)) for r, c in enumerate(row_to_col) if c >= 0]
    return (
        matches,
        [int(r) for r in np.flatnonzero(row_to_col < 0)],
        [int(c) for c in np.flatnonzero(col_to_row < 0)],
    )
