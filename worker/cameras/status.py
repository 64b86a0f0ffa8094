"""A held camera's state, as its `status` events and the `state` column tell it: the capture's
own states (starting, online, reconnecting, offline) with `degraded` on top when analysis
cannot keep up, and `error` when the camera cannot run as configured."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts import EVENT_CAMERA_OFFLINE, EVENT_CAMERA_ONLINE
from shared.db.enums import CameraState

# Analysed fps under this share of the target for DEGRADED_AFTER_S makes an online camera
# degraded; back at or above it, online again.
DEGRADED_RATIO = 0.8
DEGRADED_AFTER_S = 30.0

_UP = (CameraState.ONLINE, CameraState.DEGRADED)
_DOWN = (CameraState.RECONNECTING, CameraState.OFFLINE)


@dataclass(frozen=True, slots=True)
class StatusChange:
    state: CameraState
    previous: CameraState
    reason: str
    at: float  # Unix time

    def webhook(self) -> str | None:
        """camera.offline when an up camera goes down; camera.online when it comes up, the
        first time after its start or after an outage (not when it merely stops being
        degraded)."""
        if self.state in _DOWN and self.previous in _UP:
            return EVENT_CAMERA_OFFLINE
        if self.state is CameraState.ONLINE and self.previous not in _UP:
            return EVENT_CAMERA_ONLINE
        return None


def abandoned_webhook(previous: CameraState) -> str | None:
    """camera.offline for a camera whose runner died while it was up: nobody analyses it any
    more, although its source may be fine."""
    return EVENT_CAMERA_OFFLINE if previous in _UP else None


class StatusTracker:
    def __init__(self, state: CameraState = CameraState.STARTING) -> None:
        self.state = state
        self._below_since: float | None = None

    def _move(self, state: CameraState, reason: str, at: float) -> StatusChange | None:
        if state is self.state:
            return None
        change = StatusChange(state, self.state, reason, at)
        self.state = state
        self._below_since = None
        return change

    def capture_changed(self, state: CameraState, reason: str, at: float) -> StatusChange | None:
        """The capture's own transition (starting/online/reconnecting/offline). A camera in
        `error` stays there whatever its capture does while it is stopped: only a change through
        the API (a new generation) takes it out."""
        if self.state is CameraState.ERROR:
            return None
        if state is CameraState.ONLINE and self.state is CameraState.DEGRADED:
            return None
        return self._move(state, reason, at)

    def analysis_rate(self, fps: float, target: float, now: float) -> StatusChange | None:
        """The analysed rate measured now against the target."""
        if self.state not in _UP:
            return None
        keeping_up = fps >= DEGRADED_RATIO * target
        if self.state is CameraState.DEGRADED:
            if keeping_up:
                return self._move(CameraState.ONLINE, "analysis keeps up again", now)
            return None
        if keeping_up:
            self._below_since = None
            return None
        if self._below_since is None:
            self._below_since = now
        if now - self._below_since < DEGRADED_AFTER_S:
            return None
        return self._move(
            CameraState.DEGRADED,
            f"analysing {fps:.1f} frames/s of the {target:g} asked for",
            now,
        )

    def failed(self, reason: str, at: float) -> StatusChange | None:
        return self._move(CameraState.ERROR, reason, at)
