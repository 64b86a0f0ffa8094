"""The runner's live frames thread: while a camera is watched (SnapshotWriter.watched), it writes
the camera's frames for the live view at the camera's `live_fps`, in place of the analysis
thread's one frame every UNWATCHED_INTERVAL_S.

Each time a camera is due, the thread takes the NEWEST frame its capture holds (frames that came
in between are skipped, never queued), draws the camera's latest analysis on it, scales it to
`live_max_height` (overlay.py) and offers the JPEG to the snapshot writer. The pixels are the
newest, the boxes those of the last analysed frame (at 5 analysed frames per second, at most
a fifth of a second older), as live views of video recorders do: the picture never waits for
the analysis. A source slower than `live_fps` has each of its frames written once, and is not
polled while its next frame cannot be there yet: the thread sleeps until the source's next
frame is due, by the source's frame interval measured on the frames taken (the capture process
signals nothing to this one; the frame slot's header is only looked at when the thread wakes).

Drawing and encoding happen here, so a watched camera's analysis rate does not drop (OpenCV
releases the GIL while it scales, draws and encodes); an unwatched camera costs this thread
nothing but a glance at the viewer set the writer keeps. A camera whose frame cannot be drawn
is tried again FAILURE_RETRY_S later: its live view stalls, its analysis and events go on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from worker.cameras.analysis import ANALYSED_STATES
from worker.cameras.camera import LiveCamera
from worker.cameras.capture import Frame
from worker.cameras.overlay import annotated_snapshot
from worker.cameras.snapshots import SnapshotWriter

logger = logging.getLogger(__name__)

# A camera due without a new frame is asked again when the source's next frame should be
# there; a frame later than that is looked for every LATE_SHARE of the source's frame interval,
# but never more often than every MIN_WAIT_S.
LATE_SHARE = 0.25
MIN_WAIT_S = 0.005
# How much of each new measure of the source's frame interval goes into the estimate: enough
# to follow a source that changes its rate, little enough that one frame arriving late or
# early moves it little.
INTERVAL_WEIGHT = 0.25
# With nothing due, the thread looks again after at most this long (a camera just watched).
IDLE_S = 0.05
FAILURE_RETRY_S = 1.0


@dataclass
class Pacer:
    """When a watched camera's next live frame is due, which frame went last, and when the
    source's next frame should come."""

    interval_s: float
    next_due: float = float("-inf")
    last_index: int = -1
    # The source's frame interval as measured on the frames taken (None: no two yet), and when
    # (on the pacer's clock) the last frame taken was captured.
    source_interval_s: float | None = None
    last_arrival: float = float("-inf")
    _last_captured_at: float = field(default=float("-inf"), init=False, repr=False)
    # Whether the last take found the camera due but no newer frame.
    _missed: bool = field(default=False, init=False, repr=False)

    @classmethod
    def at(cls, fps: float) -> Pacer:
        return cls(1.0 / fps)

    def wait_s(self, now: float) -> float:
        """How long until asking again is worth it: until the next frame is due; once it is,
        at once, or, after a take found nothing newer, until the source's next frame should be
        there (a source slower than live_fps is not polled in between)."""
        if now < self.next_due:
            return self.next_due - now
        if not self._missed:
            return 0.0
        interval = self.source_interval_s or self.interval_s
        expected = self.last_arrival + interval
        if expected > now:
            return max(expected - now, MIN_WAIT_S)
        return max(interval * LATE_SHARE, MIN_WAIT_S)

    def take(self, now: float, latest: Callable[[int], Frame | None], wall: float) -> Frame | None:
        """The newest frame (`latest(after)`: the newest above that index, or None) when one is
        due and newer than the last taken; `wall` is the Unix time at `now` (frames carry their
        Unix capture time). The next is due an interval after this one was due, so the rate
        holds however the frames fall; after a delay longer than an interval (the source or
        the thread held up), an interval from now: never a burst to catch up."""
        if now < self.next_due:
            return None
        frame = latest(self.last_index)
        self._missed = frame is None
        if frame is None:
            return None
        self._measure(frame)
        self.last_index = frame.index
        self._last_captured_at = frame.captured_at
        self.last_arrival = now - (wall - frame.captured_at)
        due = self.next_due + self.interval_s
        self.next_due = due if due > now else now + self.interval_s
        return frame

    def _measure(self, frame: Frame) -> None:
        """The source's frame interval from this frame and the last one taken, the frames
        skipped between them included. A gap (a reconnect, a stall) counts as at most twice
        the estimate, so it lengthens the wait for a few frames, not for as long as it lasted."""
        frames = frame.index - self.last_index
        elapsed = frame.captured_at - self._last_captured_at
        if self.last_index < 0 or frames <= 0 or elapsed <= 0:
            return
        measured = elapsed / frames
        if self.source_interval_s is None:
            self.source_interval_s = measured
            return
        measured = min(measured, 2 * self.source_interval_s)
        self.source_interval_s += INTERVAL_WEIGHT * (measured - self.source_interval_s)


class LiveFrames(threading.Thread):
    def __init__(
        self,
        cameras: Callable[[], Sequence[LiveCamera]],
        *,
        snapshots: SnapshotWriter,
        may_show: Callable[[LiveCamera], bool],
    ) -> None:
        """`may_show(camera)`: whether the camera's frame may still be written, as for the
        analysis thread."""
        super().__init__(name="camera-live-frames", daemon=True)
        self.cameras = cameras
        self.snapshots = snapshots
        self.may_show = may_show
        self._pacers: dict[tuple[UUID, int], Pacer] = {}
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(5.0)

    def run(self) -> None:
        while not self._stopping.is_set():
            waits = [self._step(camera, pacer) for camera, pacer in self._sync()]
            self._stopping.wait(min([IDLE_S, *waits]))

    def _sync(self) -> list[tuple[LiveCamera, Pacer]]:
        """The cameras watched now, each with its pacer; a camera no longer watched forgets
        its own."""
        watched = {
            (camera.claimed.id, camera.claimed.generation): camera
            for camera in self.cameras()
            if camera.runs
            and camera.status.state in ANALYSED_STATES
            and self.snapshots.watched(camera.claimed.id)
        }
        for key in list(self._pacers):
            if key not in watched:
                del self._pacers[key]
        return [
            (camera, self._pacers.setdefault(key, Pacer.at(camera.params.live_fps)))
            for key, camera in watched.items()
        ]

    def _step(self, camera: LiveCamera, pacer: Pacer) -> float:
        """Write the camera's frame if one is due; how long until it is worth asking again."""
        now, wall = time.monotonic(), time.time()
        analysis = camera.analysis
        if analysis is None:  # not analysed yet: nothing to draw
            return IDLE_S
        try:
            frame = pacer.take(now, camera.latest, wall)
            if frame is None:
                return pacer.wait_s(now)
            snapshot = annotated_snapshot(camera, frame, analysis)
        except Exception:
            logger.exception(
                "camera %s: its live frame could not be drawn", camera.claimed.camera_id
            )
            pacer.next_due = now + FAILURE_RETRY_S
            return FAILURE_RETRY_S
        # Last thing before the hand-over: a camera let go meanwhile (reconfigured, taken
        # over) must not overwrite its successor's frame.
        if self.may_show(camera):
            self.snapshots.offer(camera.claimed.id, snapshot)
        return pacer.wait_s(time.monotonic())
