"""One camera's source over time: a Capture, a watchdog over it, reconnection with backoff, and
the figures the runner reports.

States (shared.db.enums.CameraState):

    starting ──first frame──► online ──no frame for stall_timeout_s, or the capture ended──►
    reconnecting ──a new capture's first frame──► online
    reconnecting ──still no frame after offline_after_s──► offline ──first frame──► online

Captures are retried after 1, 2, 4, 8, 10, 10, … s, the count starting over with each frame;
offline cameras go on being retried every 10 s. Offline is decided by time (60 s by default), not
by a number of attempts, because an attempt lasts anywhere from a refused connection (~1 ms) to
a stream that opens and never sends a frame (open timeout + stall timeout). A source that cannot
be opened at all (a host that does not resolve, a missing file, credentials refused) is retried
like any other, its reason in last_error: the camera may come back, or be fixed, without anyone
restarting it. So is a source that the check each capture runs first refuses (CaptureSpec.check:
the address policy on the addresses the host resolves to at that moment).

A silent source is given up by the capture itself: its read timeout is the camera's
stall_timeout_s (VIGIL_CAMERA_READ_TIMEOUT_S when that is longer), and it reports the stall
("the stream sent no frame for 10 s"). The watchdog kills a capture that stays silent
WATCHDOG_MARGIN_S past that, the backstop for what hangs whatever its timeouts say (FFmpeg stuck
in a read, a decoder that never returns).

The decisions are FeedMachine's, a pure state machine over what the Feed sees of its capture at
each poll; Feed does the process work.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import deque
from dataclasses import dataclass, replace

from shared.db.enums import CameraState
from worker.cameras.capture import Capture, CaptureInfo, CaptureSpec, Frame

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 10.0
HOUR_S = 3600.0
FPS_WINDOW_S = 5.0
# What stop() gives each capture process to end before it is killed.
STOP_GRACE_S = 1.0
# How long past its read timeout a silent capture is left before the watchdog kills it: the
# capture's own report of the stall comes first whenever FFmpeg honours the timeout.
WATCHDOG_MARGIN_S = 2.0


def backoff_s(attempt: int) -> float:
    """The wait before retry `attempt` (1 for the first): 1, 2, 4, 8, 10, 10, … s."""
    return min(FIRST_BACKOFF_S * 2.0 ** (attempt - 1), MAX_BACKOFF_S)


class SlidingCount:
    """How many times something happened in the last `window_s` seconds."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        self._times.append(now)
        self._forget(now)

    def count(self, now: float) -> int:
        self._forget(now)
        return len(self._times)

    def _forget(self, now: float) -> None:
        while self._times and self._times[0] <= now - self._window_s:
            self._times.popleft()


class RateMeter:
    """Per-second rate of a running total over about the last `window_s` seconds."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, total: int) -> None:
        self._samples.append((now, total))
        # Keep one sample from before the window, so that the rate spans all of it.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self._window_s:
            self._samples.popleft()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (first_at, first), (last_at, last) = self._samples[0], self._samples[-1]
        return (last - first) / (last_at - first_at) if last_at > first_at else 0.0


@dataclass(frozen=True)
class Transition:
    state: CameraState
    previous: CameraState
    reason: str  # short and redacted: "no frame for 10 s", "could not open the stream: …"
    at: float  # Unix time


@dataclass(frozen=True)
class Observation:
    """What the Feed saw of its running capture at one poll."""

    frames: int
    last_frame_at: float | None  # monotonic
    alive: bool
    error: str | None  # redacted
    silent: bool = False  # it ended because the source went quiet


class Action(enum.Enum):
    NONE = "none"
    START = "start"  # start a new capture
    RETIRE = "retire"  # the capture has ended: reap it
    KILL = "kill"  # the capture went silent: SIGKILL it, reap it later


@dataclass(frozen=True)
class Decision:
    action: Action = Action.NONE
    transitions: tuple[Transition, ...] = ()
    failure: str | None = None  # why the capture was given up, when it was
    stalled: bool = False  # because the source went quiet


class FeedMachine:
    """The states and the watchdog, driven by the clock and observations only."""

    def __init__(
        self,
        now: float,
        *,
        watchdog_s: float,
        open_timeout_s: float,
        offline_after_s: float,
    ) -> None:
        self.state = CameraState.STARTING
        # Failed captures since the last frame.
        self.attempts = 0
        # A capture silent this long is killed.
        self._watchdog_s = watchdog_s
        # A capture that has not delivered yet may first spend its open timeout.
        self._first_frame_timeout_s = open_timeout_s + watchdog_s
        self._offline_after_s = offline_after_s
        self._capture_started_at: float | None = now  # None while no capture runs
        self._retry_at = now
        self._down_since = now

    def step(self, now: float, seen: Observation | None, wall: float) -> Decision:
        """`seen` is None while no capture runs; `wall` (Unix time) dates the transitions."""
        transitions: list[Transition] = []

        def move(state: CameraState, reason: str) -> None:
            transitions.append(Transition(state, self.state, reason, wall))
            self.state = state

        action, failure, stalled = Action.NONE, None, False
        if self._capture_started_at is None:
            if now >= self._retry_at:
                action, self._capture_started_at = Action.START, now
        elif seen is not None:
            if seen.frames and self.state is not CameraState.ONLINE:
                first = self.state is CameraState.STARTING
                move(CameraState.ONLINE, "first frame" if first else "receiving frames again")
                self.attempts = 0
            action, failure = self._watch(now, seen)
            stalled = action is Action.KILL or (action is Action.RETIRE and seen.silent)
            if failure is not None:
                self._capture_started_at = None
                self.attempts += 1
                self._retry_at = now + backoff_s(self.attempts)
                if self.state in (CameraState.STARTING, CameraState.ONLINE):
                    move(CameraState.RECONNECTING, failure)
                    self._down_since = now
        if (
            self.state is CameraState.RECONNECTING
            and now - self._down_since >= self._offline_after_s
        ):
            move(CameraState.OFFLINE, f"no frames for {self._offline_after_s:.0f} s")
        return Decision(action, tuple(transitions), failure, stalled)

    def _watch(self, now: float, seen: Observation) -> tuple[Action, str | None]:
        if not seen.alive:
            return Action.RETIRE, seen.error or "the capture stopped"
        assert self._capture_started_at is not None
        if seen.frames and seen.last_frame_at is not None:
            silent_s, limit_s = now - seen.last_frame_at, self._watchdog_s
        else:
            silent_s, limit_s = now - self._capture_started_at, self._first_frame_timeout_s
        if silent_s >= limit_s:
            return Action.KILL, f"no frame for {silent_s:.0f} s"
        return Action.NONE, None


@dataclass(frozen=True)
class FeedStats:
    state: CameraState
    fps_in: float  # frames per second arriving, over the last few seconds
    resolution: str | None  # "640x352"
    codec: str | None  # "h264"
    reconnects_last_hour: int
    stalls_last_hour: int
    last_error: str | None  # redacted
    started_at: float  # Unix time
    last_frame_at: float | None  # Unix time the newest frame was captured


class Feed:
    """One camera's source: start(), then poll() every 100-200 ms; stop() at the end.

    Frame indexes go on rising across reconnects (a new capture starts counting at 0), so
    `latest(after=previous.index)` never mistakes a fresh capture's frames for old ones."""

    def __init__(
        self,
        spec: CaptureSpec,
        *,
        stall_timeout_s: float = 10.0,
        offline_after_s: float = 60.0,
    ) -> None:
        # A read waits up to stall_timeout_s, so that a source sending a frame every few seconds
        # runs when the camera's stall_timeout_s allows it.
        silence_s = max(spec.read_timeout_s, stall_timeout_s)
        self.spec = replace(spec, read_timeout_s=silence_s)
        self._watchdog_s = silence_s + WATCHDOG_MARGIN_S
        self._offline_after_s = offline_after_s
        self._machine: FeedMachine | None = None
        self._capture: Capture | None = None
        # Killed or ended captures not reaped yet: the watchdog never waits on a process.
        self._retired: list[Capture] = []
        self._frames_before = 0
        self._fps = RateMeter(FPS_WINDOW_S)
        self._reconnects = SlidingCount(HOUR_S)
        self._stalls = SlidingCount(HOUR_S)
        self._info: CaptureInfo | None = None
        self._last_frame_at: float | None = None  # monotonic
        self.last_error: str | None = None
        self.started_at = 0.0

    @property
    def state(self) -> CameraState:
        return CameraState.STARTING if self._machine is None else self._machine.state

    @property
    def capture(self) -> Capture | None:
        """The capture running now, if one is."""
        return self._capture

    def start(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.started_at = time.time()
        self._machine = FeedMachine(
            now,
            watchdog_s=self._watchdog_s,
            open_timeout_s=self.spec.open_timeout_s,
            offline_after_s=self._offline_after_s,
        )
        self._start_capture()

    def poll(self, now: float | None = None) -> list[Transition]:
        """Watchdog and reconnection; the state changes since the last poll."""
        if self._machine is None:
            raise RuntimeError("start the Feed first")
        now = time.monotonic() if now is None else now
        self._reap()
        capture = self._capture
        seen = None
        if capture is not None:
            # Frames before liveness: a capture that delivered and then died counts as online.
            frames, last_frame_at = capture.frames, capture.last_frame_at
            alive = capture.alive()
            error = None if alive else capture.error()
            seen = Observation(frames, last_frame_at, alive, error, capture.silent)
            self._info = capture.info or self._info
            self._last_frame_at = last_frame_at or self._last_frame_at
        decision = self._machine.step(now, seen, time.time())
        if decision.failure is not None:
            self.last_error = decision.failure
        if decision.stalled:
            self._stalls.add(now)
        if decision.action in (Action.RETIRE, Action.KILL) and capture is not None:
            self._retire(capture, kill=decision.action is Action.KILL)
        elif decision.action is Action.START:
            self._start_capture()
            self._reconnects.add(now)
        self._fps.add(now, self._frames_before + (self._capture.frames if self._capture else 0))
        for change in decision.transitions:
            level = logging.INFO if change.state is CameraState.ONLINE else logging.WARNING
            logger.log(
                level,
                "camera %s: %s → %s (%s)",
                self.spec.label,
                change.previous,
                change.state,
                change.reason,
            )
        return list(decision.transitions)

    def latest(self, after: int = -1) -> Frame | None:
        """The newest frame if its index is above `after`; never waits for one."""
        capture = self._capture
        if capture is None:
            return None
        frame = capture.latest(after - self._frames_before)
        return None if frame is None else replace(frame, index=frame.index + self._frames_before)

    def stats(self, now: float | None = None) -> FeedStats:
        now = time.monotonic() if now is None else now
        last_frame_at = None
        if self._last_frame_at is not None:
            last_frame_at = time.time() - (time.monotonic() - self._last_frame_at)
        return FeedStats(
            state=self.state,
            fps_in=round(self._fps.rate(), 2),
            resolution=None if self._info is None else self._info.resolution,
            codec=None if self._info is None else self._info.codec or None,
            reconnects_last_hour=self._reconnects.count(now),
            stalls_last_hour=self._stalls.count(now),
            last_error=self.last_error,
            started_at=self.started_at,
            last_frame_at=last_frame_at,
        )

    def stop(self) -> None:
        """End every capture process this feed has, and reap them."""
        if self._capture is not None:
            self._retired.append(self._capture)
            self._capture = None
        for capture in self._retired:
            capture.stop(STOP_GRACE_S)
        self._retired = []

    def _start_capture(self) -> None:
        capture = Capture(self.spec)
        capture.start()
        self._capture = capture

    def _retire(self, capture: Capture, *, kill: bool) -> None:
        if kill:
            capture.kill()
        self._frames_before += capture.frames
        self._retired.append(capture)
        self._capture = None

    def _reap(self) -> None:
        ended = [capture for capture in self._retired if not capture.alive()]
        for capture in ended:
            capture.stop()
        self._retired = [capture for capture in self._retired if capture not in ended]
