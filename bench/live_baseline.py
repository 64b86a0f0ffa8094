"""The baseline of `make bench-live`: bare aiortc in one process, a stamped 640x352 picture made
in memory and sent straight from a track to a peer over loopback, without a camera, a runner,
Redis, the API or the live service. What Vigil's path adds is its figures over these."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av.video.frame import VideoFrame

from tests.fixtures.stamp import now_stamp, stamp_i420
from tests.fixtures.webrtc_client import LiveViewer, Stats

WIDTH, HEIGHT = 640, 352


class StampedTrack(VideoStreamTrack):
    """A grey picture with the wall-clock stamp in its top rows, at `fps`."""

    def __init__(self, fps: float) -> None:
        super().__init__()
        self.period = 1.0 / fps
        self.next_at = 0.0
        self.picture = bytearray(np.full(WIDTH * HEIGHT * 3 // 2, 128, np.uint8).tobytes())

    async def recv(self) -> VideoFrame:
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(self.next_at + self.period, time.monotonic())
        pts, time_base = await self.next_timestamp()
        stamp_i420(self.picture, WIDTH, HEIGHT, now_stamp())
        planes = np.frombuffer(bytes(self.picture), np.uint8).reshape(HEIGHT * 3 // 2, WIDTH)
        frame = VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def bare_aiortc(seconds: float, fps: float) -> Stats:
    """Time to first frame, rate and stamp latency of a bare aiortc peer pair."""
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    viewer = LiveViewer("http://unused", {})
    try:
        viewer.started = time.monotonic()
        offer = await viewer.offer()
        await sender.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        sender.addTrack(StampedTrack(fps))
        await sender.setLocalDescription(await sender.createAnswer())
        answer = sender.localDescription
        await viewer.pc.setRemoteDescription(
            RTCSessionDescription(sdp=answer.sdp, type=answer.type)
        )
        await viewer.wait_frames(1)
        frames = await viewer.watch(seconds)
        stats = viewer.stats(frames)
        first = viewer.stats()
        return Stats(
            frames=stats.frames,
            ttff_s=first.ttff_s,
            fps=stats.fps,
            latency_p50_ms=stats.latency_p50_ms,
            latency_p95_ms=stats.latency_p95_ms,
        )
    finally:
        await viewer.close()
        await sender.close()
