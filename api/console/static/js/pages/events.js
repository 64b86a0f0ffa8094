// Events: every camera's events live, and the search of plate reads, watchlist matches and state
// changes.

import * as api from "../api.js";
import { describe } from "../describe.js";
import { busy, checkbox, clock, errorBox, field, h, problem, table, when } from "../dom.js";
import { follow } from "../sse.js";
import { PER_FRAME } from "./camera.js";

const FEED_SIZE = 200;

function liveFeed() {
  const state = h("span", { class: "muted small", role: "status" }, "connecting…");
  const list = h("ol", { class: "feed", id: "live-feed", "aria-label": "Live events, newest first" });
  const showFrames = checkbox({ label: "Show per-frame detection and motion events", name: "per_frame" });
  const pause = checkbox({ label: "Pause", name: "pause" });
  let received = 0;
  const stream = follow("/events/stream", {
    onState(s, error) {
      state.textContent = s === "open" ? "live" : s === "error" ? `disconnected: ${problem(error)}` : s;
    },
    onEvent(type, data) {
      if (["ready", "gap", "end", "signed_out"].includes(type)) {
        if (type === "gap") list.prepend(h("li", { class: "muted" }, "Some events were missed while disconnected."));
        return;
      }
      received += 1;
      state.textContent = `live · ${received} received`;
      if (pause.querySelector("input").checked) return;
      if (PER_FRAME.has(type) && !showFrames.querySelector("input").checked) return;
      list.prepend(
        h(
          "li",
          { dataset: { type, camera: data.camera_id } },
          h(
            "div",
            { class: "what" },
            h("span", { class: "mono" }, clock(data.timestamp)),
            " ",
            h("a", { href: `#/cameras/${encodeURIComponent(data.camera_id)}` }, data.camera_id),
            " ",
            h("strong", null, type),
            h("br"),
            describe(type, data),
          ),
        ),
      );
      while (list.children.length > FEED_SIZE) list.lastChild.remove();
    },
  });
  const section = h(
    "section",
    { class: "panel", "aria-labelledby": "live-title" },
    h("div", { class: "row" }, h("h2", { id: "live-title" }, "Live"), state),
    h("div", { class: "actions" }, showFrames, pause),
    list,
  );
  return { section, stop: () => stream.close() };
}

function search(cameras, signal) {
  const error = errorBox();
  const results = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Search");
  let page = 1;
  const form = h(
    "form",
    { role: "search", "aria-label": "Search events" },
    h(
      "div",
      { class: "row" },
      field({ label: "Plate", name: "plate", placeholder: "AB12 CDE", maxlength: "32", autocomplete: "off", hint: "Exact, separators and case ignored." }),
      field({ label: "Camera", name: "camera_id", type: "select", value: "", options: [["", "All cameras"], ...cameras.map((c) => [c.camera_id, c.name || c.camera_id])] }),
      field({ label: "Type", name: "type", type: "select", value: "", options: [["", "Any"], ["anpr", "Plate reads"], ["watchlist_match", "Watchlist matches"], ["status", "State changes"]] }),
    ),
    h(
      "div",
      { class: "row" },
      field({ label: "From", name: "since", type: "datetime-local" }),
      field({ label: "Until", name: "until", type: "datetime-local" }),
    ),
    error,
    h("div", { class: "actions" }, submit),
  );
  const iso = (value) => (value ? new Date(value).toISOString() : undefined);

  async function run() {
    error.textContent = "";
    const query = {
      plate: form.elements.plate.value.trim(),
      camera_id: form.elements.camera_id.value,
      type: form.elements.type.value,
      since: iso(form.elements.since.value),
      until: iso(form.elements.until.value),
      page,
      page_size: 25,
    };
    try {
      const found = await api.request("/events", { query, signal });
      const pages = Math.max(1, Math.ceil(found.total / found.page_size));
      results.replaceChildren(
        table(
          ["Time", "Camera", "Type", "Plate", "What"],
          found.items.map((e) => [when(e.timestamp), e.camera_id, e.type, e.plate ? h("span", { class: "mono" }, e.plate) : "–", describe(e.type, e.payload)]),
          { empty: "No event matches." },
        ),
        h(
          "div",
          { class: "pager" },
          h("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => { page -= 1; run(); } }, "Newer"),
          h("span", { class: "muted small" }, `Page ${page} of ${pages} · ${found.total} events`),
          h("button", { type: "button", class: "secondary", disabled: page >= pages, onclick: () => { page += 1; run(); } }, "Older"),
        ),
      );
    } catch (e) {
      if (e.name !== "AbortError") error.textContent = problem(e);
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    busy(submit, run);
  });
  return h("section", { class: "panel", "aria-labelledby": "search-title" }, h("h2", { id: "search-title" }, "Search plates and state changes"), form, results);
}

export async function events(main, _params, { signal }) {
  const cameras = (await api.request("/cameras", { query: { page_size: 100 }, signal })).items;
  const live = liveFeed();
  main.append(h("h1", null, "Events"), live.section, search(cameras, signal));
  return live.stop;
}
