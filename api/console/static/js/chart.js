// A small SVG line chart: series of {x, y} over a shared x axis (seconds).

import { h, svg } from "./dom.js";

const WIDTH = 640;
const HEIGHT = 200;
const PAD = { left: 36, right: 10, top: 10, bottom: 24 };

function ticks(max, count) {
  const step = Math.max(1, Math.ceil(max / count));
  const out = [];
  for (let value = 0; value <= max; value += step) out.push(value);
  return out;
}

// series: [{name, className, points: [{x, y}]}]; onPick(x) when a point of the x axis is clicked.
export function lineChart(series, { title, xLabel = "s", onPick } = {}) {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys);
  const x = (value) => PAD.left + (value / xMax) * (WIDTH - PAD.left - PAD.right);
  const y = (value) => HEIGHT - PAD.bottom - (value / yMax) * (HEIGHT - PAD.top - PAD.bottom);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title });
  chart.append(svg("title", null, title));
  for (const value of ticks(yMax, 4)) {
    chart.append(
      svg("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      svg("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, String(value)),
    );
  }
  for (const value of ticks(xMax, 8)) {
    chart.append(svg("text", { x: x(value), y: HEIGHT - 6, "text-anchor": "middle" }, `${value}${xLabel}`));
  }
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
    chart.append(svg("path", { class: s.className, d }));
  }
  if (onPick) {
    chart.addEventListener("click", (event) => {
      const box = chart.getBoundingClientRect();
      const at = ((event.clientX - box.left) / box.width) * WIDTH;
      onPick(Math.max(0, ((at - PAD.left) / (WIDTH - PAD.left - PAD.right)) * xMax));
    });
  }
  const legend = h(
    "div",
    { class: "legend", "aria-hidden": "true" },
    series.map((s) => h("span", null, h("span", { class: `swatch ${s.className}` }), s.name)),
  );
  return h("figure", { class: "chart" }, chart, legend);
}

// A table of the same figures, for those who cannot see the chart.
export function chartTable(series, caption) {
  const seconds = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const head = h("tr", null, h("th", { scope: "col" }, "Second"), series.map((s) => h("th", { scope: "col", class: "num" }, s.name)));
  const rows = seconds.map((second) =>
    h("tr", null, h("td", null, String(second)), series.map((s) => h("td", { class: "num" }, String((s.points.find((p) => p.x === second) || { y: "–" }).y)))),
  );
  return h(
    "details",
    null,
    h("summary", null, caption),
    h("div", { class: "table-wrap" }, h("table", null, h("thead", null, head), h("tbody", null, rows))),
  );
}
