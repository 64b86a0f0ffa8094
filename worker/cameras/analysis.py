"""The runner's analysis thread: one set of models for all its cameras.

Each camera is due every 1/target seconds (CameraParams.target_fps of its source's rate, capped
by VIGIL_CAMERA_MAX_DETECT_FPS). The thread takes, among the cameras due, the one most overdue,
and analyses the NEWEST frame its capture holds; frames that came in between are skipped, so no
queue ever builds up and a runner that cannot keep up analyses each camera less often (which
shows in `fps_analysed` and, past a point, as `degraded`) rather than later.

Per camera the thread keeps a Pipeline (per-stream state: tracks, zones, motion, plates) and
turns each frame's result into events for the publisher, Postgres records for plate reads and
watchlist matches, the camera's latest `Analysis` (which the live frames thread draws on newer
frames while the camera is watched) and, while it is not watched, an annotated frame about
every UNWATCHED_INTERVAL_S (overlay.py draws both the same way). The pipeline is tuned to the
rate it is fed (the tracker keeps lost tracks for a number of frames), so it is built again, its
tracks lost, when the camera's target rate moves by more than RETUNE_RATIO: typically once, when
the source's rate becomes known a few seconds after the start.

One camera's trouble stays its own: a pipeline that fails puts its camera in `error` at once;
publishing or a snapshot that keeps failing (FAILURES_TOLERATED frames in a row) does too; the
other cameras go on. Whatever else goes wrong ends the thread, and the runner with it."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np

from shared.cameras.events import ANPR, DETECTION, MOTION, TIMELINE_TYPES
from shared.cameras.params import CameraParams
from shared.cameras.source import redact
from shared.configured import params_context
from shared.db.enums import CameraState
from shared.settings import Settings
from worker.anpr.ocr import warm_up_engine
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import Frame
from worker.cameras.events import (
    WATCHLIST_MATCH,
    BusEvent,
    DetectionPolicy,
    anpr_body,
    bounding_box,
    detection_body,
    match_body,
    motion_body,
    new_event,
    objects,
    timeline_body,
    wants_motion_event,
)
from worker.cameras.overlay import Analysis, annotated_snapshot
from worker.cameras.snapshots import UNWATCHED_INTERVAL_S, SnapshotWriter
from worker.engine.outputs import FrameResult, PlateSettled, WatchMatch
from worker.engine.pipeline import Pipeline

logger = logging.getLogger(__name__)

# With nothing due, the thread looks again after at most this long (a camera added meanwhile).
IDLE_S = 0.05
# A camera due without a new frame is asked again after this long.
NO_FRAME_RETRY_S = 0.01
# A camera's frames are analysed once its `online` status is out, so that no consumer sees a
# detection from a camera whose last status still says `starting` or `reconnecting`.
ANALYSED_STATES = frozenset({CameraState.ONLINE, CameraState.DEGRADED})
# The engine names a crowd level change `crowd_level_changed`; the bus says `crowd_level`.
BUS_TYPE = {"crowd_level_changed": "crowd_level"}
# Plate reads and watchlist matches reach the bus as `anpr` and `watchlist_match` events from
# the result's plates and matches, so their timeline copies are not published again.
FROM_PLATES = ("plate_read", WATCHLIST_MATCH)
# Tracked objects remembered per camera (class and last box), so that a plate settling after
# its car has left the frame still says which car it was.
TRACKS_KEPT = 256
# A target rate this far (relative) from the one the pipeline was built for rebuilds it: small
# swings of a measured source rate must not cost the camera its tracks.
RETUNE_RATIO = 0.2
# One failure may be a fluke of one frame's result; this many in a row is how the camera runs.
FAILURES_TOLERATED = 5
# A camera whose frame could not be handled is asked again after this long.
FAILURE_RETRY_S = 0.5
# A frame started ahead and not analysed within this long is stale: the newest is analysed.
AHEAD_MAX_AGE_S = 1.0


def warm_up(settings: Settings) -> None:
    """Load the models a camera with default parameters uses (process-wide, shared by every
    pipeline) by analysing one blank frame, and the OCR engine if VIGIL_WARMUP_OCR asks for
    it (default cameras read no plates)."""
    job = CameraParams().job_params(params_context(settings))
    blank = np.zeros((360, 640, 3), dtype=np.uint8)
    Pipeline(job, video=True, analysed_fps=5.0, watchlist=()).process(0, 0.0, blank)
    if settings.warmup_ocr:
        warm_up_engine(blank)


@dataclass(frozen=True)
class PlateRecord:
    """A plate read or a watchlist match, for Postgres (and, for a match, the webhook)."""

    camera: LiveCamera
    event: BusEvent
    plate: PlateSettled | WatchMatch


@dataclass
class Session:
    """One camera as the analysis thread sees it."""

    camera: LiveCamera
    pipeline: Pipeline | None = None
    # The analysed rate the pipeline was built for.
    pipeline_fps: float = 0.0
    # The capture time of the pipeline's first frame: its timestamps count from it.
    epoch: float = 0.0
    last_index: int = -1
    next_due: float = 0.0
    retry_at: float = 0.0
    last_snapshot: float = float("-inf")
    tracks: OrderedDict[int, tuple[str, Sequence[float]]] = field(default_factory=OrderedDict)
    # Frames in a row whose events or snapshot failed.
    failures: int = 0
    # The frame taken, and its inference started, while another camera's was analysed.
    ahead: Frame | None = None
    policy: DetectionPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = DetectionPolicy(self.camera.params.event_policy)


class Analyser(threading.Thread):
    def __init__(
        self,
        cameras: Callable[[], Sequence[LiveCamera]],
        *,
        emit: Callable[[BusEvent], None],
        record: Callable[[PlateRecord], None],
        snapshots: SnapshotWriter,
        model_info: Mapping[str, Any],
        max_detect_fps: float,
        may_show: Callable[[LiveCamera], bool],
    ) -> None:
        """`may_show(camera)`: whether the camera's snapshot may still be written (held, on
        a lease that has not run out), asked just before each is handed to the writer."""
        super().__init__(name="camera-analysis", daemon=True)
        self.cameras = cameras
        self.emit = emit
        self.record = record
        self.snapshots = snapshots
        self.may_show = may_show
        self.model_info = dict(model_info)
        self.max_detect_fps = max_detect_fps
        self._sessions: dict[tuple[UUID, int], Session] = {}
        self._stopping = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        """A camera was added or removed."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.join(10.0)

    def run(self) -> None:
        while not self._stopping.is_set():
            sessions = [s for s in self._sync() if s.camera.status.state in ANALYSED_STATES]
            now = time.monotonic()
            due = [s for s in sessions if s.next_due <= now and s.retry_at <= now]
            if not due:
                upcoming = [max(s.next_due, s.retry_at) for s in sessions]
                self._wake.wait(min([IDLE_S, *(t - now for t in upcoming)]))
                self._wake.clear()
                continue
            session, *others = sorted(due, key=lambda s: s.next_due)
            if others:
                # Two cameras due: both frames infer at once, one per throughput stream.
                for each in (session, others[0]):
                    try:
                        self._prefetch(each)
                    except Exception as exc:
                        self._failed(each, exc, now)
            try:
                self._step(session, now)
            except Exception as exc:
                self._failed(session, exc, now)

    def _prefetch(self, session: Session) -> None:
        """The camera's next frame starts inferring now, on one of the engine's streams, while
        this thread analyses another camera's: the cameras of one runner share one model."""
        if session.ahead is not None or session.pipeline is None:
            return
        frame = session.camera.latest(after=session.last_index)
        if frame is not None:
            # Held before the gate decides on it: the frame decided on is the one analysed.
            session.ahead = frame
            session.pipeline.prefetch(frame.captured_at - session.epoch, frame.image)

    def _take_ahead(self, session: Session) -> Frame | None:
        """The frame started ahead, unless it has gone stale (its camera paused or failed in
        between): then it is let go, and the camera's newest frame is analysed instead."""
        frame, session.ahead = session.ahead, None
        if frame is not None and time.time() - frame.captured_at > AHEAD_MAX_AGE_S:
            if session.pipeline is not None:
                session.pipeline.discard(frame.image)
            return None
        return frame

    def _step(self, session: Session, now: float) -> None:
        frame = self._take_ahead(session) or session.camera.latest(after=session.last_index)
        if frame is None:
            session.retry_at = now + NO_FRAME_RETRY_S
            return
        self._analyse(session, frame, now)
        session.failures = 0

    def _failed(self, session: Session, exc: Exception, now: float) -> None:
        camera = session.camera
        session.failures += 1
        session.retry_at = now + FAILURE_RETRY_S
        logger.exception(
            "camera %s: its frame could not be handled (%d in a row)",
            camera.claimed.camera_id, session.failures,
        )  # fmt: skip
        if session.failures >= FAILURES_TOLERATED:
            camera.failure = redact(f"its frames could not be handled: {exc}")

    def _sync(self) -> list[Session]:
        """Sessions for the cameras held now: new ones made, released ones dropped (with their
        pipeline's state)."""
        current = {
            (c.claimed.id, c.claimed.generation): c
            for c in self.cameras()
            if c.runs and c.failure is None
        }
        for key in list(self._sessions):
            if key not in current:
                del self._sessions[key]
        for key, camera in current.items():
            if key not in self._sessions:
                self._sessions[key] = Session(camera)
        return list(self._sessions.values())

    def _analyse(self, session: Session, frame: Frame, started: float) -> None:
        camera = session.camera
        target = camera.target_fps(self.max_detect_fps)
        try:
            result = self._process(session, frame, target)
        except Exception as exc:
            # A pipeline that fails on a frame would fail on the next ones too: the camera goes
            # to `error` (its lease kept, so that no other runner loops on it) until changed.
            logger.exception("analysis of camera %s failed", camera.claimed.camera_id)
            camera.failure = redact(f"analysis failed: {exc}")
            return
        camera.analysed.add(time.monotonic())
        # Keep the rhythm, but never catch up in a burst after falling behind.
        session.next_due = max(session.next_due + 1.0 / target, started)
        if not camera.held:
            return
        assert camera.job is not None
        height, width = frame.image.shape[:2]
        analysis = Analysis.of(result, camera.job, width, height)
        camera.analysis = analysis
        self._publish(session, frame, result)
        self._snapshot(session, frame, analysis)

    def _process(self, session: Session, frame: Frame, target: float) -> FrameResult:
        camera = session.camera
        if session.pipeline is None or retuned(session.pipeline_fps, target):
            if session.pipeline is not None:
                logger.info(
                    "camera %s: analysing %.2f frames/s instead of %.2f; its tracks start over",
                    camera.claimed.camera_id, target, session.pipeline_fps,
                )  # fmt: skip
            self._build(session, target, frame.captured_at)
        assert session.pipeline is not None
        session.last_index = frame.index
        return session.pipeline.process(frame.index, frame.captured_at - session.epoch, frame.image)

    def _build(self, session: Session, target: float, epoch: float) -> None:
        camera = session.camera
        assert camera.job is not None
        session.pipeline = Pipeline(
            camera.job,
            video=True,
            analysed_fps=target,
            watchlist=camera.watchlist,
            # A camera runs for days and is never summarised: its memory must not grow.
            retain="live",
        )
        session.pipeline_fps = target
        session.epoch = epoch
        # The new pipeline numbers its tracks from the start again.
        session.tracks.clear()

    def _publish(self, session: Session, frame: Frame, result: FrameResult) -> None:
        camera = session.camera
        ref, tally = camera.ref, camera.tally
        height, width = frame.image.shape[:2]
        self._remember_tracks(session, result.detections)
        found = objects(result.detections)
        if session.policy.wants(found, frame.captured_at):
            body = detection_body(frame.index, width, height, found, self.model_info)
            self.emit(new_event(ref, DETECTION, frame.captured_at, body, tally, timed=True))
        motion = result.metrics.get("motion")
        if wants_motion_event(motion, camera.params.motion_threshold):
            assert motion is not None
            body = motion_body(frame.index, motion, result.detections)
            self.emit(new_event(ref, MOTION, frame.captured_at, body, tally))
        for timeline in result.events:
            bus_type = BUS_TYPE.get(timeline.type, timeline.type)
            if timeline.type in FROM_PLATES or bus_type not in TIMELINE_TYPES:
                continue
            at = session.epoch + timeline.timestamp
            self.emit(new_event(ref, bus_type, at, timeline_body(timeline), tally))
        self._publish_plates(session, width, height, result)

    def _publish_plates(
        self, session: Session, width: int, height: int, result: FrameResult
    ) -> None:
        """An `anpr` event per settled plate and a `watchlist_match` per match, each also
        recorded in Postgres."""
        camera = session.camera
        ref, tally = camera.ref, camera.tally
        anpr_ids: dict[tuple[str, int | None], str] = {}
        for plate in result.plates:
            at = session.epoch + plate.timestamp
            vehicle = self._vehicle(session, plate.vehicle_track_id, plate.bbox, width, height)
            matched = [m for m in result.matches if _same_plate(m, plate)]
            event = new_event(ref, ANPR, at, anpr_body(plate, vehicle, matched), tally)
            anpr_ids[plate.license_plate, plate.vehicle_track_id] = str(event.event_id)
            self.emit(event)
            self.record(PlateRecord(camera, event, plate))
        for match in result.matches:
            at = session.epoch + match.timestamp
            vehicle = self._vehicle(session, match.vehicle_track_id, None, width, height)
            anpr_id = anpr_ids.get((match.license_plate, match.vehicle_track_id))
            event = new_event(ref, WATCHLIST_MATCH, at, match_body(match, vehicle, anpr_id), tally)
            self.emit(event)
            self.record(PlateRecord(camera, event, match))

    def _remember_tracks(self, session: Session, detections: Sequence[Mapping[str, Any]]) -> None:
        for detection in detections:
            track_id = detection.get("track_id")
            if isinstance(track_id, int):
                session.tracks[track_id] = (str(detection["label"]), detection["bbox_normalized"])
                session.tracks.move_to_end(track_id)
        while len(session.tracks) > TRACKS_KEPT:
            session.tracks.popitem(last=False)

    def _vehicle(
        self,
        session: Session,
        track_id: int | None,
        plate_box: Sequence[int] | None,
        width: int,
        height: int,
    ) -> dict[str, Any]:
        """The vehicle a plate belongs to: its class and box as last seen, when tracked."""
        seen = session.tracks.get(track_id) if track_id is not None else None
        if seen is not None:
            label, box = seen
            return {"class_name": label, "track_id": track_id, "bounding_box": bounding_box(box)}
        # Untracked (or long gone): the plate's own box is all there is to say where it was.
        box_of_plate = None
        if plate_box is not None:
            x1, y1, x2, y2 = plate_box
            box_of_plate = bounding_box((x1 / width, y1 / height, x2 / width, y2 / height))
        return {"class_name": None, "track_id": track_id, "bounding_box": box_of_plate}

    def _snapshot(self, session: Session, frame: Frame, analysis: Analysis) -> None:
        camera = session.camera
        now = time.monotonic()
        # Watched, the camera's frames come from the live frames thread (live_frames.py).
        if self.snapshots.watched(camera.claimed.id):
            return
        if now - session.last_snapshot < UNWATCHED_INTERVAL_S:
            return
        session.last_snapshot = now
        snapshot = annotated_snapshot(camera, frame, analysis)
        # Last thing before the hand-over: a camera let go meanwhile (reconfigured, taken
        # over) must not overwrite its successor's frame.
        if not self.may_show(camera):
            return
        self.snapshots.offer(camera.claimed.id, snapshot)


def retuned(built_for: float, target: float) -> bool:
    """Whether a pipeline built for `built_for` frames per second must be rebuilt for
    `target`."""
    return abs(target - built_for) > RETUNE_RATIO * built_for


def _same_plate(match: WatchMatch, plate: PlateSettled) -> bool:
    return (
        match.license_plate == plate.license_plate
        and match.vehicle_track_id == plate.vehicle_track_id
    )
