// A camera's page: its live view, what its runner reports, and its events as they come (each
// with a picture taken from the live view at that moment).

import * as api from "../api.js";
import { describe } from "../describe.js";
import { busy, checkbox, clock, h, problem, stateBadge, table, toast, when } from "../dom.js";
import { liveView } from "../live.js";
import { follow } from "../sse.js";
import { fpsText, hasPicture } from "./cameras.js";

const FEED_SIZE = 50;
// Sent for every analysed frame: shown only when asked for.
export const PER_FRAME = new Set(["detection", "motion"]);
const POLL_MS = 5000;

function runtimeRows(camera) {
  const r = camera.runtime;
  return [
    ["State", h("span", null, stateBadge(r.state), ` since ${when(r.since)}`)],
    ["Frames per second", `${r.fps_in ?? "–"} in · ${r.fps_analysed ?? "–"} analysed · ${r.fps_target ?? "–"} target`],
    ["Resolution", `${r.resolution || "–"} ${r.codec || ""}`],
    ["Last frame", when(r.last_frame_at)],
    ["Reconnects / stalls (last hour)", `${r.reconnects_last_hour} / ${r.stalls_last_hour}`],
    ["Events published / dropped", `${r.events_published} / ${r.events_dropped}`],
    ["Runner", `${r.runner || "–"} (generation ${r.generation})`],
    ["Last error", r.last_error || "–"],
  ];
}

// A still of the live view now, for an event's row.
function still(box) {
  const source = box.querySelector("video, img");
  if (!source) return null;
  const width = source.videoWidth || source.naturalWidth;
  const height = source.videoHeight || source.naturalHeight;
  if (!width || !height) return null;
  const canvas = h("canvas", { width: 192, height: Math.round((192 * height) / width), "aria-hidden": "true" });
  try {
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  } catch {
    return null;
  }
  return canvas;
}

export async function camera(main, [cameraId], { signal, go }) {
  const path = `/cameras/${encodeURIComponent(cameraId)}`;
  let current = await api.request(path, { signal });
  const name = current.name || current.camera_id;
  const box = h("div", { class: "live large" }, h("span", { class: "mode" }, current.runtime.state));
  const fps = h("p", { class: "muted small" });
  const runtime = h("div");
  const feed = h("ol", { class: "feed", "aria-label": "Live events", "aria-live": "off" });
  const showFrames = checkbox({ label: "Show per-frame detection and motion events", name: "per_frame" });
  const stored = h("div");
  let live = null;
  let stopLive = null;

  const toggle = h("button", { type: "button", class: "secondary" });
  const remove = h("button", { type: "button", class: "danger" }, "Delete camera");

  function show() {
    toggle.textContent = current.status === "active" ? "Stop (make inactive)" : "Start (make active)";
    runtime.replaceChildren(
      h("div", { class: "table-wrap" }, h("table", null, h("tbody", null, runtimeRows(current).map(([name, value]) => h("tr", null, h("th", { scope: "row" }, name), h("td", null, value)))))),
    );
    fps.textContent = fpsText(current.runtime, live);
    // Not once the page is left: a PATCH answered after that would start a view nobody stops.
    if (!stopLive && hasPicture(current) && !signal.aborted) {
      stopLive = liveView(box, current, {
        onInfo(info) {
          live = info;
          fps.textContent = fpsText(current.runtime, live);
        },
      });
    }
  }

  toggle.addEventListener("click", () =>
    busy(toggle, async () => {
      current = await api.request(path, { method: "PATCH", json: { status: current.status === "active" ? "inactive" : "active" } });
      if (stopLive) stopLive();
      stopLive = null;
      show();
    }),
  );
  remove.addEventListener("click", () => {
    if (!window.confirm(`Delete camera ${name}? Its events stay searchable.`)) return;
    busy(remove, async () => {
      await api.request(path, { method: "DELETE" });
      toast(`Camera ${name} deleted.`, "ok");
      go("/cameras");
    });
  });

  const events = follow(`${path}/events`, {
    onEvent(type, data) {
      if (["ready", "gap", "end", "signed_out"].includes(type)) return;
      if (PER_FRAME.has(type) && !showFrames.querySelector("input").checked) return;
      feed.prepend(
        h("li", { dataset: { type } }, still(box), h("div", { class: "what" }, h("span", { class: "mono" }, clock(data.timestamp)), " ", h("strong", null, type), h("br"), describe(type, data))),
      );
      while (feed.children.length > FEED_SIZE) feed.lastChild.remove();
    },
  });

  async function loadStored() {
    try {
      const page = await api.request("/events", { query: { camera_id: current.camera_id, page_size: 10 }, signal });
      stored.replaceChildren(
        table(
          ["Time", "Type", "What"],
          page.items.map((e) => [when(e.timestamp), e.type, describe(e.type, e.payload)]),
          { empty: "No plate reads or state changes kept yet." },
        ),
      );
    } catch (error) {
      if (error.name !== "AbortError") stored.textContent = problem(error);
    }
  }

  main.append(
    h("p", null, h("a", { href: "#/cameras" }, "← All cameras")),
    h("h1", null, name),
    h("p", { class: "muted" }, h("span", { class: "mono" }, current.camera_id), ` · ${current.stream_url}`),
    h(
      "div",
      { class: "grid-2" },
      h("section", { "aria-label": "Live view" }, box, fps),
      h("section", { "aria-labelledby": "runtime-title" }, h("h2", { id: "runtime-title" }, "Runtime"), runtime),
    ),
    h("div", { class: "actions" }, h("a", { class: "button", href: `#${path}/edit` }, "Edit, zones and lines"), toggle, remove),
    h("section", { class: "panel", "aria-labelledby": "feed-title" }, h("h2", { id: "feed-title" }, "Events as they come"), showFrames, feed),
    h("section", { class: "panel", "aria-labelledby": "stored-title" }, h("h2", { id: "stored-title" }, "Recent plate reads and state changes"), stored),
  );
  show();
  await loadStored();
  const timer = setInterval(async () => {
    try {
      current = await api.request(path, { signal });
      show();
    } catch (error) {
      if (error.status === 404) go("/cameras");
    }
  }, POLL_MS);
  return () => {
    clearInterval(timer);
    events.close();
    if (stopLive) stopLive();
  };
}
