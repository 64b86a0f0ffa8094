// Cameras: a grid of live tiles with their state and frame rates.

import * as api from "../api.js";
import { h, problem, stateBadge } from "../dom.js";
import { liveView } from "../live.js";

// States in which the camera has a picture to show.
const WATCHABLE = new Set(["online", "degraded"]);

// Whether the camera's runner has put an analysed picture out to be watched: it is running and
// has analysed frames (a camera just online has captured one, and may not have analysed it yet,
// when its snapshot would still answer "no picture yet").
export function hasPicture(camera) {
  return camera.status === "active" && WATCHABLE.has(camera.runtime.state) && camera.runtime.fps_analysed > 0;
}
const POLL_MS = 5000;

export function fpsText(runtime, live) {
  const parts = [];
  if (runtime.fps_analysed !== null && runtime.fps_analysed !== undefined) parts.push(`${runtime.fps_analysed.toFixed(1)} fps analysed`);
  if (live && live.fps) parts.push(`${Math.round(live.fps)} fps live`);
  return parts.join(" · ") || "–";
}

function tile(camera) {
  const name = camera.name || camera.camera_id;
  const state = h("span", { class: "state" }, stateBadge(camera.runtime.state));
  const fps = h("span", { class: "fps" });
  const box = h("div", { class: "live" }, h("span", { class: "mode" }, camera.status === "inactive" ? "inactive" : camera.runtime.state));
  const element = h(
    "li",
    { class: "tile", dataset: { camera: camera.camera_id } },
    h("header", null, h("a", { href: `#/cameras/${encodeURIComponent(camera.camera_id)}` }, name), state),
    box,
    h("footer", null, fps, h("a", { href: `#/cameras/${encodeURIComponent(camera.camera_id)}/edit`, "aria-label": `Edit ${name}` }, "Edit")),
  );
  let stop = null;
  let live = null;
  function update(current) {
    state.replaceChildren(stateBadge(current.status === "inactive" ? "inactive" : current.runtime.state));
    fps.textContent = fpsText(current.runtime, live);
    if (hasPicture(current) && !stop) {
      stop = liveView(box, current, {
        onInfo(info) {
          live = info;
          fps.textContent = fpsText(current.runtime, live);
        },
      });
    }
  }
  update(camera);
  return { element, update, stop: () => stop && stop() };
}

export async function cameras(main, _params, { signal }) {
  const grid = h("ul", { class: "tiles", "aria-label": "Cameras" });
  const note = h("p", { class: "muted", role: "status" });
  main.append(
    h("div", { class: "page-head" }, h("h1", null, "Cameras"), h("a", { class: "button", href: "#/cameras/new" }, "Add a camera")),
    note,
    grid,
  );
  const tiles = new Map();
  async function load() {
    let list;
    try {
      list = await api.request("/cameras", { query: { page_size: 100 }, signal });
    } catch (error) {
      if (error.name !== "AbortError") note.textContent = problem(error);
      return;
    }
    note.textContent = list.total ? "" : "No cameras yet. Add an RTSP camera, or a video file to play like one.";
    for (const camera of list.items) {
      const known = tiles.get(camera.camera_id);
      if (known) known.update(camera);
      else {
        const made = tile(camera);
        tiles.set(camera.camera_id, made);
        grid.append(made.element);
      }
    }
  }
  await load();
  const timer = setInterval(load, POLL_MS);
  return () => {
    clearInterval(timer);
    for (const made of tiles.values()) made.stop();
  };
}
