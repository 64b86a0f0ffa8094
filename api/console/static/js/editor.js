// Zones (polygons) and counting lines drawn on a camera's picture, in the coordinates Vigil uses:
// x and y from 0 to 1 of the frame's width and height. Every point can also be typed.
//
// A line counts `in` when an object crosses it from its left to its right, looking from `start`
// towards `end` (on the picture as shown): the arrow points to the `in` side. Swapping the ends
// swaps the sides.

import { h, svg, uid } from "./dom.js";

const CLOSE_DISTANCE_PX = 12;

export function round(value) {
  return Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
}

export function formatPoints(points) {
  return points.map(([x, y]) => `${x}, ${y}`).join("; ");
}

// "0.1, 0.2; 0.3, 0.4" (or any separators) → [[0.1, 0.2], [0.3, 0.4]]; null when it is not that.
export function parsePoints(text) {
  const numbers = (text.match(/-?\d*\.?\d+(?:e-?\d+)?/gi) || []).map(Number);
  if (numbers.length % 2 || numbers.some((n) => !(n >= 0 && n <= 1))) return null;
  const points = [];
  for (let i = 0; i < numbers.length; i += 2) points.push([numbers[i], numbers[i + 1]]);
  return points;
}

function uniqueName(prefix, taken) {
  for (let n = 1; ; n += 1) if (!taken.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

// image: a loaded <img> of the camera (or null: then a blank 16:9 frame); zones and lines as the
// camera's parameters hold them. Returns {element, value()}.
export function shapeEditor(image, { zones = [], lines = [] } = {}) {
  const width = image ? image.naturalWidth : 1600;
  const height = image ? image.naturalHeight : 900;
  const state = {
    zones: zones.map((z) => ({ ...z, polygon: z.polygon.map((p) => [...p]) })),
    lines: lines.map((l) => ({ ...l, start: [...l.start], end: [...l.end] })),
    mode: null,
    draft: [],
  };
  const overlay = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": "Zones and lines on the camera's picture",
  });
  const picture = image || h("div", { class: "blank", "aria-hidden": "true" });
  const stage = h("div", { class: "editor", dataset: { mode: "idle" } }, picture, overlay);
  const status = h("p", { class: "small", role: "status", "aria-live": "polite" }, "Draw a zone or a line on the picture, or type points below.");
  const list = h("ul", { class: "shapes", "aria-label": "Zones and lines" });
  const drawZone = h("button", { type: "button" }, "Draw a zone");
  const drawLine = h("button", { type: "button" }, "Draw a line");
  const closeZone = h("button", { type: "button", hidden: true }, "Close polygon");
  const undo = h("button", { type: "button", class: "secondary", hidden: true }, "Undo point");
  const cancel = h("button", { type: "button", class: "secondary", hidden: true }, "Cancel");
  const typeZone = h("button", { type: "button", class: "secondary" }, "Add a zone by coordinates");
  const typeLine = h("button", { type: "button", class: "secondary" }, "Add a line by coordinates");

  const px = ([x, y]) => [x * width, y * height];
  const taken = () => new Set([...state.zones.map((z) => z.name), ...state.lines.map((l) => l.name)]);

  function setMode(mode) {
    state.mode = mode;
    state.draft = [];
    stage.dataset.mode = mode || "idle";
    closeZone.hidden = mode !== "zone";
    undo.hidden = mode !== "zone";
    cancel.hidden = !mode;
    drawZone.disabled = drawLine.disabled = Boolean(mode);
    closeZone.disabled = true;
    status.textContent =
      mode === "zone"
        ? "Click the picture to place the zone's corners, then Close polygon (or click the first corner)."
        : mode === "line"
          ? "Click the line's start, then its end."
          : status.textContent;
    draw();
  }

  function draw() {
    overlay.replaceChildren();
    for (const zone of state.zones) {
      if (zone.polygon.length < 3) continue;
      const points = zone.polygon.map((p) => px(p).join(",")).join(" ");
      const [tx, ty] = px(zone.polygon[0]);
      overlay.append(svg("polygon", { class: "zone", points }), svg("text", { x: tx + 6, y: ty + 18 }, zone.name));
    }
    for (const line of state.lines) {
      const [x1, y1] = px(line.start);
      const [x2, y2] = px(line.end);
      const length = Math.hypot(x2 - x1, y2 - y1) || 1;
      // The right-hand normal in picture coordinates (y grows downwards): the `in` side.
      const nx = (-(y2 - y1) / length) * Math.min(60, length / 2);
      const ny = ((x2 - x1) / length) * Math.min(60, length / 2);
      const mx = (x1 + x2) / 2;
      const my = (y1 + y2) / 2;
      const tipX = mx + nx;
      const tipY = my + ny;
      const back = Math.hypot(nx, ny) || 1;
      const wing = 10;
      const ux = nx / back;
      const uy = ny / back;
      overlay.append(
        svg("line", { class: "counting-line", x1, y1, x2, y2 }),
        svg("path", {
          class: "in-arrow",
          d: `M${mx},${my} L${tipX},${tipY} M${tipX - ux * wing - uy * wing},${tipY - uy * wing + ux * wing} L${tipX},${tipY} L${tipX - ux * wing + uy * wing},${tipY - uy * wing - ux * wing}`,
        }),
        svg("text", { x: tipX + 4, y: tipY + 4 }, `${line.name}: in`),
      );
    }
    if (state.draft.length) {
      const points = state.draft.map((p) => px(p).join(",")).join(" ");
      overlay.append(svg(state.mode === "zone" && state.draft.length > 2 ? "polygon" : "polyline", { class: "draft", points }));
      for (const point of state.draft) {
        const [cx, cy] = px(point);
        overlay.append(svg("circle", { class: "vertex", cx, cy, r: Math.max(4, width / 200) }));
      }
    }
  }

  function field(label, value, onChange, attrs = {}) {
    const id = uid("shape");
    const input = h("input", { id, value, ...attrs });
    input.addEventListener("change", () => onChange(input));
    return h("div", { class: "field" }, h("label", { for: id }, label), input);
  }

  function pointsField(label, points, count, apply) {
    return field(label, formatPoints(points), (input) => {
      const parsed = parsePoints(input.value);
      const ok = parsed && (count === "polygon" ? parsed.length >= 3 : parsed.length === 1);
      input.setCustomValidity(ok ? "" : count === "polygon" ? "At least 3 points, each x, y between 0 and 1" : "One point: x, y between 0 and 1");
      input.reportValidity();
      if (ok) {
        apply(parsed);
        draw();
      }
    }, { class: "mono", autocomplete: "off", spellcheck: "false" });
  }

  function renderList() {
    list.replaceChildren();
    state.zones.forEach((zone, index) => {
      const remove = h("button", { type: "button", class: "secondary", onclick: () => { state.zones.splice(index, 1); changed(); } }, `Remove zone ${zone.name}`);
      list.append(
        h(
          "li",
          { dataset: { zone: zone.name } },
          h(
            "div",
            { class: "row" },
            field("Zone name", zone.name, (input) => {
              zone.name = input.value.trim() || zone.name;
              // Renamed in place: drawing the list again would take the focus away.
              remove.textContent = `Remove zone ${zone.name}`;
              draw();
            }, { maxlength: "64", required: true }),
            field("Loitering after (seconds, empty: never)", zone.loiter_seconds ?? "", (input) => { zone.loiter_seconds = input.value === "" ? null : Number(input.value); }, { type: "number", min: "0.1", step: "any" }),
          ),
          pointsField("Corners (x, y; …)", zone.polygon, "polygon", (points) => { zone.polygon = points; }),
          remove,
        ),
      );
    });
    state.lines.forEach((line, index) => {
      const swap = h("button", { type: "button", class: "secondary", onclick: () => {
        [line.start, line.end] = [line.end, line.start];
        changed();
        // The list is drawn anew: the focus stays on this line's button.
        list.querySelector(`li[data-line="${CSS.escape(line.name)}"] .actions button`).focus();
      } }, `Swap the in side of ${line.name}`);
      const remove = h("button", { type: "button", class: "secondary", onclick: () => { state.lines.splice(index, 1); changed(); } }, `Remove line ${line.name}`);
      list.append(
        h(
          "li",
          { dataset: { line: line.name } },
          field("Line name", line.name, (input) => {
            line.name = input.value.trim() || line.name;
            swap.textContent = `Swap the in side of ${line.name}`;
            remove.textContent = `Remove line ${line.name}`;
            draw();
          }, { maxlength: "64", required: true }),
          h(
            "div",
            { class: "row" },
            pointsField("Start (x, y)", [line.start], 1, ([point]) => { line.start = point; }),
            pointsField("End (x, y)", [line.end], 1, ([point]) => { line.end = point; }),
          ),
          h("p", { class: "muted small" }, "Crossing from the left of start→end to its right counts as in."),
          h("div", { class: "actions" }, swap, remove),
        ),
      );
    });
  }

  function changed() {
    renderList();
    draw();
  }

  overlay.addEventListener("click", (event) => {
    if (!state.mode) return;
    const box = overlay.getBoundingClientRect();
    const point = [round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)];
    if (state.mode === "zone" && state.draft.length >= 3) {
      const [fx, fy] = state.draft[0];
      if (Math.hypot((fx - point[0]) * box.width, (fy - point[1]) * box.height) < CLOSE_DISTANCE_PX) {
        finishZone();
        return;
      }
    }
    state.draft.push(point);
    if (state.mode === "line" && state.draft.length === 2) {
      const [start, end] = state.draft;
      if (start[0] === end[0] && start[1] === end[1]) {
        state.draft.pop();
        return;
      }
      const name = uniqueName("line", taken());
      state.lines.push({ name, start, end });
      status.textContent = `Line ${name} added. Its arrow points to the in side.`;
      setMode(null);
      changed();
      return;
    }
    closeZone.disabled = state.draft.length < 3;
    status.textContent = `${state.draft.length} corner${state.draft.length === 1 ? "" : "s"} placed.`;
    draw();
  });

  function finishZone() {
    if (state.draft.length < 3) return;
    const name = uniqueName("zone", taken());
    state.zones.push({ name, polygon: state.draft, loiter_seconds: 30 });
    status.textContent = `Zone ${name} added with ${state.draft.length} corners.`;
    setMode(null);
    changed();
  }

  drawZone.addEventListener("click", () => setMode("zone"));
  drawLine.addEventListener("click", () => setMode("line"));
  closeZone.addEventListener("click", finishZone);
  undo.addEventListener("click", () => {
    state.draft.pop();
    closeZone.disabled = state.draft.length < 3;
    draw();
  });
  cancel.addEventListener("click", () => {
    status.textContent = "Cancelled.";
    setMode(null);
  });
  typeZone.addEventListener("click", () => {
    state.zones.push({ name: uniqueName("zone", taken()), polygon: [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]], loiter_seconds: 30 });
    changed();
    const added = [...list.querySelectorAll("li[data-zone]")].pop();
    if (added) added.querySelector("input.mono").focus();
  });
  typeLine.addEventListener("click", () => {
    state.lines.push({ name: uniqueName("line", taken()), start: [0.5, 0.1], end: [0.5, 0.9] });
    changed();
  });
  changed();
  const element = h(
    "div",
    null,
    h("div", { class: "actions" }, drawZone, drawLine, closeZone, undo, cancel),
    status,
    stage,
    h("div", { class: "actions" }, typeZone, typeLine),
    list,
  );
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.mode) setMode(null);
  });
  return {
    element,
    value() {
      return {
        zones: state.zones.map((z) => ({ ...z, polygon: z.polygon })),
        lines: state.lines.map((l) => ({ ...l })),
      };
    },
  };
}
