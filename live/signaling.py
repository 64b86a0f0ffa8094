"""Answering an offer with aiortc: the peer's configuration and the offer/answer exchange.

Signaling is not trickled: aiortc gathers every candidate before setLocalDescription returns,
so the answer is complete, and the browser sends one request and gets one answer."""

from __future__ import annotations

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from live.track import CameraTrack
from shared.live.ice import ice_servers
from shared.settings import Settings

# aiortc has no "disconnected" connection state: a peer that stops answering (a browser tab
# killed, a laptop closed, a network gone) is only noticed by aioice's consent freshness checks
# (RFC 7675), and aioice gives up after 6 unanswered checks 5 s apart, so about 30 s. Checks
# every 2 s (±20 %), given up after 3 unanswered ones (each waits 0.5 s for its answer), end
# such a session within 5 to 9 s instead; a check lost now and then ends nothing.
CONSENT_INTERVAL_S = 2
CONSENT_FAILURES = 3


def tighten_consent() -> None:
    """Make every peer of this process give up on a silent browser within about 10 s. aioice
    reads these module settings each time it checks, so this holds for peers made after."""
    aioice.ice.CONSENT_INTERVAL = CONSENT_INTERVAL_S
    aioice.ice.CONSENT_FAILURES = CONSENT_FAILURES


class InvalidOfferError(Exception):
    """The offer passed the API's checks but aiortc cannot use it."""


def configuration(settings: Settings, process_id: str) -> RTCConfiguration:
    """The configured ICE servers, and never aiortc's default (a public STUN server), which it
    would use if given None."""
    servers = [
        RTCIceServer(urls=list(server.urls), username=server.username, credential=server.credential)
        for server in ice_servers(settings, f"live-{process_id}")
    ]
    return RTCConfiguration(iceServers=servers)


async def answer(pc: RTCPeerConnection, track: CameraTrack, sdp: str) -> str:
    """The answer's SDP, with this process's candidates, to an offer of one recvonly video
    section; InvalidOfferError when the offer cannot be applied."""
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        # Takes the offer's video transceiver, which becomes sendonly on this side.
        pc.addTrack(track)
    except Exception as exc:  # aiortc raises many kinds (ValueError, its own errors, KeyError)
        raise InvalidOfferError(str(exc) or type(exc).__name__) from exc
    await pc.setLocalDescription(await pc.createAnswer())
    local = pc.localDescription
    return local.sdp
