"""A live view session: one peer connection with one camera track, and the rules that end it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiortc import RTCPeerConnection

from live.feeds import CameraFeed
from live.track import CameraTrack
from shared.cameras.events import iso_millis
from shared.live.protocol import OfferRequest, SessionRecord

# A peer that never connects (the browser went away after the answer, or cannot reach this
# process's addresses) is given up after this long.
CONNECT_TIMEOUT_S = 30.0


@dataclass
class Session:
    request: OfferRequest
    process_id: str
    pc: RTCPeerConnection
    track: CameraTrack
    feed: CameraFeed
    max_session_s: float
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # When the offer was taken from the queue, and when its answer was ready (monotonic).
    opened: float = field(default_factory=time.monotonic)
    answered: float | None = None
    connected_at: float | None = None
    closing: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    supervisor: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.request.session_id

    def watch_states(self) -> None:
        """Note every state change of the peer, so that the supervisor acts on it at once."""
        for event in (
            "connectionstatechange",
            "iceconnectionstatechange",
            "icegatheringstatechange",
            "signalingstatechange",
        ):
            self.pc.on(event, self._state_changed)

    def _state_changed(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        self.changed.set()

    def reason_to_close(self, now: float) -> str | None:
        # aiortc has no "disconnected" state: a peer that stops answering turns "failed" once
        # its ICE consent lapses (live/signaling.py tightens that to about 10 s).
        state = self.pc.connectionState
        if state in ("failed", "closed"):
            return f"connection {state}"
        if self.connected_at is None and now - self.opened >= CONNECT_TIMEOUT_S:
            return f"never connected in {CONNECT_TIMEOUT_S:g} s"
        if now - self.opened >= self.max_session_s:
            return f"reached the {self.max_session_s:g} s limit"
        return None

    def record(self) -> SessionRecord:
        return SessionRecord(
            session_id=self.id,
            owner_id=self.request.owner_id,
            camera_uuid=self.request.camera_uuid,
            camera_id=self.request.camera_id,
            process_id=self.process_id,
            created_at=iso_millis(self.created_at),
            connection_state=self.pc.connectionState,
            ice_connection_state=self.pc.iceConnectionState,
            ice_gathering_state=self.pc.iceGatheringState,
            signaling_state=self.pc.signalingState,
            frames_sent=self.track.frames_sent,
            api_key_id=self.request.api_key_id,
        )

    def timings(self) -> str:
        """What the session's time to first frame is made of, for the log."""

        def since_open(moment: float | None) -> str:
            return f"{(moment - self.opened) * 1000:.0f} ms" if moment is not None else "never"

        return (
            f"answer {since_open(self.answered)}, connected {since_open(self.connected_at)}, "
            f"first frame {since_open(self.track.first_frame_at)}"
        )
