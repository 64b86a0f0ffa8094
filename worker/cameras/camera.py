"""One camera a runner holds: what it was claimed with, how it is captured, its state and its
figures. The runner's event loop owns it; the analysis thread reads it, adds to its meters and
leaves its latest result on it for the live frames thread."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.cameras.params import CameraParams
from shared.db.enums import CameraState
from shared.params import JobParams
from shared.repositories.camera_leases import CameraReport, ClaimedCamera
from worker.cameras.capture import Frame
from worker.cameras.events import CameraRef, EventTally
from worker.cameras.feed import Feed, FeedStats, Transition
from worker.cameras.overlay import Analysis
from worker.cameras.status import StatusTracker
from worker.engine.outputs import WatchEntry

# Analysed fps is measured over this much of the recent past.
RATE_WINDOW_S = 5.0
# The feed measures the source's rate over its last few seconds: until a camera has been online
# this long, the measure still counts the time it took to open, and reads low.
SOURCE_RATE_SETTLES_S = 6.0


class RateMeter:
    """Events per second over the last RATE_WINDOW_S (thread-safe: one thread adds, another
    reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        with self._lock:
            self._times.append(now)
            self._forget(now)

    def rate(self, now: float) -> float:
        with self._lock:
            self._forget(now)
            return len(self._times) / RATE_WINDOW_S

    def _forget(self, now: float) -> None:
        while self._times and self._times[0] < now - RATE_WINDOW_S:
            self._times.popleft()


@dataclass(eq=False)
class LiveCamera:
    claimed: ClaimedCamera
    params: CameraParams
    # What the analysis runs and what plates are matched against; None for a camera in error.
    job: JobParams | None
    watchlist: tuple[WatchEntry, ...]
    feed: Feed | None
    status: StatusTracker
    tally: EventTally = field(default_factory=EventTally)
    analysed: RateMeter = field(default_factory=RateMeter)
    # Cleared the moment the runner lets the camera go: from then on, nothing of this
    # generation is analysed, published or recorded.
    held: bool = True
    error: str | None = None
    # Set by the analysis thread when the pipeline fails on this camera; the runner turns it
    # into the `error` state.
    failure: str | None = None
    # The latest analysed frame's result, replaced whole by the analysis thread after each
    # frame, for the live frames thread to draw on newer frames.
    analysis: Analysis | None = None
    # Monotonic time the statement that last claimed or renewed the lease was sent: the lease
    # runs at least until then plus VIGIL_CAMERA_LEASE_S.
    leased_at: float = field(default_factory=time.monotonic)
    # The feed is polled by the event loop and read by the analysis thread: one at a time, so
    # that a reconnect never hands out a frame numbered for the wrong capture.
    _feed_lock: threading.Lock = field(default_factory=threading.Lock)
    # Set by stop_feed: a capture that finishes starting afterwards is stopped, not kept.
    _feed_stopped: bool = False
    # Monotonic time the camera last came online; None while it is not.
    online_since: float | None = None
    # The feed's reconnects and stalls of the last hour when `trouble()` last looked.
    _trouble_seen: tuple[int, int] = (0, 0)

    @classmethod
    def claimed_now(cls, claimed: ClaimedCamera) -> LiveCamera:
        """The camera as the runner holds it from its claim on, while it opens (no job, no
        feed yet: see adopt and start_feed)."""
        try:
            params = CameraParams.model_validate(claimed.params)
        except ValueError:  # pydantic's ValidationError is one; opening tells why
            params = CameraParams()
        return cls(claimed, params, None, (), None, StatusTracker())

    def adopt(self, opened: LiveCamera) -> None:
        """What opening the camera found: what to analyse, or why it cannot run."""
        self.params, self.job, self.watchlist = opened.params, opened.job, opened.watchlist
        self.error = opened.error

    def start_feed(self, feed: Feed) -> bool:
        """Start the capture and make it the camera's (blocking: it spawns a process). False,
        and nothing left running, when the camera was stopped before or meanwhile."""
        with self._feed_lock:
            if self._feed_stopped:
                return False
        feed.start()
        with self._feed_lock:
            if not self._feed_stopped:
                self.feed = feed
                return True
        feed.stop()
        return False

    @property
    def ref(self) -> CameraRef:
        c = self.claimed
        return CameraRef(c.id, c.camera_id, c.owner_id, c.generation)

    @property
    def runs(self) -> bool:
        """Held, capturing and analysing (not in error)."""
        return self.held and self.feed is not None and self.status.state is not CameraState.ERROR

    def holds(self, generation: int) -> bool:
        return self.held and generation == self.claimed.generation

    def poll(self) -> list[Transition]:
        if self.feed is None:
            return []
        with self._feed_lock:
            return self.feed.poll()

    def latest(self, after: int) -> Frame | None:
        if self.feed is None:
            return None
        with self._feed_lock:
            return self.feed.latest(after)

    def stats(self) -> FeedStats | None:
        if self.feed is None:
            return None
        with self._feed_lock:
            return self.feed.stats()

    def stop_feed(self) -> None:
        """End the capture process (blocking: up to about a second, during which the analysis
        thread already sees no feed)."""
        with self._feed_lock:
            feed, self.feed = self.feed, None
            self._feed_stopped = True
        if feed is not None:
            feed.stop()

    def trouble(self) -> tuple[int, int]:
        """Reconnects and stalls since the previous call (for counters: the feed counts them
        over the last hour, which also forgets)."""
        stats = self.stats()
        if stats is None:
            return 0, 0
        now = (stats.reconnects_last_hour, stats.stalls_last_hour)
        seen, self._trouble_seen = self._trouble_seen, now
        return max(0, now[0] - seen[0]), max(0, now[1] - seen[1])

    def source_fps(self) -> float:
        """Frames per second arriving from the source; 0 (unknown) until measured."""
        stats = self.stats()
        settled = (
            self.online_since is not None
            and time.monotonic() - self.online_since >= SOURCE_RATE_SETTLES_S
        )
        return stats.fps_in if stats is not None and settled else 0.0

    def target_fps(self, cap: float) -> float:
        return self.params.target_fps(self.source_fps(), cap)

    def runtime(self, cap: float, stats: FeedStats | None) -> dict[str, Any]:
        published, dropped = self.tally.totals()
        figures: dict[str, Any] = {
            "fps_in": None,
            "fps_analysed": round(self.analysed.rate(time.monotonic()), 2),
            "fps_target": round(self.target_fps(cap), 2),
            "resolution": None,
            "codec": None,
            "reconnects_last_hour": 0,
            "stalls_last_hour": 0,
            "events_published": published,
            "events_dropped": dropped,
        }
        if stats is not None:
            figures |= {
                "fps_in": round(stats.fps_in, 2),
                "resolution": stats.resolution,
                "codec": stats.codec,
                "reconnects_last_hour": stats.reconnects_last_hour,
                "stalls_last_hour": stats.stalls_last_hour,
            }
        return figures

    def report(self, cap: float) -> CameraReport:
        stats = self.stats()
        last_frame_at = None
        if stats is not None and stats.last_frame_at is not None:
            last_frame_at = datetime.fromtimestamp(stats.last_frame_at, UTC)
        return CameraReport(
            id=self.claimed.id,
            generation=self.claimed.generation,
            state=self.status.state,
            runtime=self.runtime(cap, stats),
            last_frame_at=last_frame_at,
            last_error=self.error or (stats.last_error if stats is not None else None),
        )
