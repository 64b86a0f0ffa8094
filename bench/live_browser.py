"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) as a live view viewer for
`make bench-live`: it opens a page of the API's own origin, makes the WebRTC offer the console
makes (recvonly video, every candidate gathered first), posts it with a bearer token and plays
the answer in a <video>. On every frame it shows (requestVideoFrameCallback) it reads the stamp
the stamped test camera wrote in the top rows (tests/fixtures/stamp.py) and compares it with
Date.now(): capture → displayed in the browser, on one clock."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import sync_playwright

from tests.fixtures.stamp import WATCH_STAMPS_JS
from tests.fixtures.webrtc_client import percentile

CHROMIUM = "/usr/bin/chromium"
# Chromium hides local addresses behind mDNS names unless told not to; aioice then spends about
# a second resolving them (aioice#77).
MDNS_OFF = "--disable-features=WebRtcHideLocalIpsWithMdns"
# A public page of the API: a document of its origin, so the offer is a same-origin fetch.
HOST_PAGE = "/health"

VIEW_SCRIPT = (
    """
async ({token, cameraId, seconds}) => {
  const t0 = performance.now();
  const pc = new RTCPeerConnection({iceServers: []});
  pc.addTransceiver('video', {direction: 'recvonly'});
  const video = document.createElement('video');
  video.muted = true; video.playsInline = true; video.autoplay = true;
  document.body.appendChild(video);
  pc.ontrack = (event) => {
    video.srcObject = event.streams[0] || new MediaStream([event.track]);
    video.play().catch(() => {});
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') { done(); return; }
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') done();
    });
  });
  const gatheredMs = performance.now() - t0;
  const answered = await fetch('/api/v1/webrtc/offer', {
    method: 'POST',
    headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
    body: JSON.stringify({sdp: pc.localDescription.sdp, type: 'offer', camera_id: cameraId}),
  });
  if (!answered.ok) { return {error: answered.status + ' ' + await answered.text()}; }
  const answer = await answered.json();
  await pc.setRemoteDescription({type: 'answer', sdp: answer.sdp});
  const frames = await ("""
    + WATCH_STAMPS_JS
    + """)(video, seconds);
  const stats = await pc.getStats();
  let candidate = null;
  stats.forEach((report) => {
    if (report.type === 'candidate-pair' && report.nominated) candidate = report.localCandidateId;
  });
  pc.close();
  return {ttffMs: frames[0].at - t0, gatheredMs, frames, sessionId: answer.session_id, candidate};
}
"""
)


@dataclass(frozen=True)
class BrowserView:
    ttff_s: float
    gathered_s: float
    fps: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    stamped: int
    frames: int


def view(base_url: str, token: str, camera_id: str, seconds: float, mdns: bool) -> BrowserView:
    """One live view in a fresh headless Chromium, `seconds` long after its first frame."""
    args = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
    if not mdns:
        args.append(MDNS_OFF)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.goto(base_url + HOST_PAGE)
            result: dict[str, Any] = page.evaluate(
                VIEW_SCRIPT, {"token": token, "cameraId": camera_id, "seconds": seconds}
            )
        finally:
            browser.close()
    if "error" in result:
        raise RuntimeError(f"the browser's offer was refused: {result['error']}")
    frames = result["frames"]
    span_ms = frames[-1]["at"] - frames[0]["at"] if len(frames) > 1 else 0.0
    latencies = [float(f["latency"]) for f in frames if f["latency"] is not None]
    return BrowserView(
        ttff_s=result["ttffMs"] / 1000,
        gathered_s=result["gatheredMs"] / 1000,
        fps=(len(frames) - 1) / (span_ms / 1000) if span_ms > 0 else 0.0,
        latency_p50_ms=statistics.median(latencies) if latencies else None,
        latency_p95_ms=percentile(latencies, 0.95) if latencies else None,
        stamped=len(latencies),
        frames=len(frames),
    )
