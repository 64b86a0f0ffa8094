// A camera's live view: WebRTC first (the live service sends its annotated frames), MJPEG in an
// <img> when WebRTC cannot connect (no live service, a network that blocks it, an old browser).

import * as api from "./api.js";
import { h } from "./dom.js";

// Gathering waits for every candidate (the offer is sent once, complete); a browser hiding its
// addresses behind mDNS takes about a second.
const GATHER_TIMEOUT_MS = 4000;
// From the answer to the first decoded frame.
const FIRST_FRAME_TIMEOUT_MS = 8000;
// A dropped MJPEG stream (camera restarted, API restarted) is opened again after this long.
const MJPEG_RETRY_MS = 3000;

function iceGatheringDone(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function firstFrame(video) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no frame arrived")), FIRST_FRAME_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(done);
    else video.addEventListener("loadeddata", done, { once: true });
  });
}

// What the views left lately still have to end on the server: the sessions they opened, or
// whose offers are still on their way. Each holds one of the user's few places until it is
// deleted, so a new view waits for them before it offers (leaving the grid of tiles for one
// camera's page would be refused otherwise).
const ending = new Set();

function endsLater(promise) {
  const settled = promise.catch(() => {});
  ending.add(settled);
  settled.finally(() => ending.delete(settled));
}

function leftError() {
  return new DOMException("the live view was left", "AbortError");
}

// `promise`, or an AbortError as soon as `signal` aborts.
function unlessAborted(promise, signal) {
  return new Promise((resolve, reject) => {
    const abort = () => reject(leftError());
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

// Views of this page holding a live session, or about to: the server refuses offers past the
// user's cap (429), so views beyond it play MJPEG without asking. Sessions the user holds
// elsewhere (another tab, an API client) are not known here and still meet a refusal.
let holding = 0;

async function startWebRTC(camera, video, signal) {
  if (typeof RTCPeerConnection === "undefined") throw new Error("this browser has no WebRTC");
  const config = await api.request("/webrtc/config", { signal });
  const iceServers = (config.ice_servers || []).map(({ urls, username, credential }) => ({ urls, username, credential }));
  const pc = new RTCPeerConnection({ iceServers });
  let sessionId = null;
  let closing = null;
  let held = false;
  // The session is ended on the server before the peer here: closed the other way round, the
  // live service sees the connection go, ends the session itself, and the DELETE finds nothing.
  // `ended`: the connection failed, which ends the session on the server anyway. Once only,
  // however many ways the view ends at once.
  const close = (ended = false) => {
    closing ??= (async () => {
      if (sessionId && !ended) {
        await api.request(`/webrtc/sessions/${sessionId}`, { method: "DELETE" }).catch(() => {});
      }
      pc.close();
      if (held) holding -= 1;
    })();
    return closing;
  };
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addEventListener("track", (event) => {
      video.srcObject = event.streams[0] || new MediaStream([event.track]);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await unlessAborted(iceGatheringDone(pc), signal);
    await unlessAborted(Promise.allSettled([...ending]), signal);
    if (holding >= (config.max_sessions_per_user ?? Infinity)) {
      throw new Error("every live view place of this account is taken");
    }
    holding += 1;
    held = true;
    // Sent without the view's signal: the live service opens the session whether or not this
    // request is aborted, and only a DELETE with the id of the answer ends it before its time.
    const answer = await api.request("/webrtc/offer", {
      method: "POST",
      json: { sdp: pc.localDescription.sdp, type: "offer", camera_id: camera.camera_id },
    });
    sessionId = answer.session_id;
    if (signal.aborted) throw leftError();
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await video.play().catch(() => {});
    await unlessAborted(firstFrame(video), signal);
    return { pc, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// Mounts the live view of `camera` into `box`; onInfo({mode, fps}) as it changes. Returns stop().
export function liveView(box, camera, { onInfo = () => {} } = {}) {
  const controller = new AbortController();
  const label = h("span", { class: "mode" }, "connecting…");
  const video = h("video", { muted: true, autoplay: true, playsinline: true, "aria-label": `Live view of ${camera.name || camera.camera_id}` });
  const img = h("img", { alt: `Live view of ${camera.name || camera.camera_id}` });
  let webrtc = null;
  let timers = [];
  let stopped = false;

  box.replaceChildren(label);

  async function mjpeg() {
    if (stopped) return;
    try {
      const view = await api.request(`/cameras/${encodeURIComponent(camera.camera_id)}/view-token`, { method: "POST", signal: controller.signal });
      if (stopped) return;
      img.src = view.mjpeg_url;
      box.replaceChildren(img, label);
      label.textContent = "MJPEG";
      onInfo({ mode: "mjpeg" });
    } catch (error) {
      if (error.name === "AbortError") return;
      label.textContent = "no picture";
      timers.push(setTimeout(mjpeg, MJPEG_RETRY_MS));
    }
  }

  img.addEventListener("error", () => {
    if (stopped || !img.getAttribute("src")) return;
    img.removeAttribute("src");
    label.textContent = "reconnecting…";
    timers.push(setTimeout(mjpeg, MJPEG_RETRY_MS));
  });

  async function fps() {
    if (!webrtc || stopped) return;
    const stats = await webrtc.pc.getStats();
    stats.forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video" && report.framesPerSecond !== undefined) {
        onInfo({ mode: "webrtc", fps: report.framesPerSecond });
      }
    });
  }

  // Settles once the session is up, or, when it is not, once whatever was opened is closed.
  const starting = startWebRTC(camera, video, controller.signal);
  starting
    .then((session) => {
      if (stopped) {
        session.close();
        return;
      }
      webrtc = session;
      box.replaceChildren(video, label);
      label.textContent = "WebRTC";
      onInfo({ mode: "webrtc" });
      timers.push(setInterval(fps, 2000));
      session.pc.addEventListener("connectionstatechange", () => {
        if (["failed", "closed"].includes(session.pc.connectionState) && !stopped) {
          webrtc = null;
          session.close(true);
          mjpeg();
        }
      });
    })
    .catch(() => mjpeg());

  return function stop() {
    if (stopped) return;
    stopped = true;
    controller.abort();
    for (const timer of timers) clearTimeout(timer);
    timers = [];
    endsLater(webrtc ? webrtc.close() : starting.then((session) => session.close()));
    img.removeAttribute("src");
    video.srcObject = null;
  };
}
