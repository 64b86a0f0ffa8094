// Small DOM helpers. Text always goes in as text (never as HTML): what the API returns is data.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && !el.namespaceURI.endsWith("svg") && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// h("button", {class: "secondary", onclick: f}, "Save")
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let ids = 0;
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

// A labelled input: {label, name, type, value, required, ...input attributes, hint}
export function field({ label, hint, ...attrs }) {
  const id = attrs.id || uid(attrs.name || "f");
  const tag = attrs.type === "select" ? "select" : attrs.type === "textarea" ? "textarea" : "input";
  const { options, type, ...rest } = attrs;
  const input = h(tag, { id, ...rest, ...(tag === "input" ? { type: type || "text" } : {}) });
  if (tag === "select") {
    for (const option of options || []) {
      const [value, text] = Array.isArray(option) ? option : [option, option];
      input.append(h("option", { value, selected: String(value) === String(attrs.value ?? "") }, text));
    }
  } else if (attrs.value !== undefined && attrs.value !== null) {
    input.value = attrs.value;
  }
  const hintEl = hint ? h("span", { class: "muted small", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

export function checkbox({ label, ...attrs }) {
  const id = attrs.id || uid(attrs.name || "c");
  return h("label", { class: "check", for: id }, h("input", { type: "checkbox", id, ...attrs }), label);
}

export function badge(text, kind = "muted") {
  return h("span", { class: `badge ${kind}` }, text);
}

const STATE_KINDS = {
  completed: "ok", online: "ok", succeeded: "ok", active: "ok",
  processing: "info", queued: "muted", pending: "muted", starting: "info",
  degraded: "warn", reconnecting: "warn", stopped: "muted", inactive: "muted",
  failed: "bad", offline: "bad", error: "bad",
};

export function stateBadge(state) {
  return badge(state, STATE_KINDS[state] || "muted");
}

export function table(headers, rows, { caption, empty = "Nothing yet." } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  // A column of numbers is aligned right, its heading too.
  const numeric = headers.map((_, i) => rows[0][i] instanceof Node && rows[0][i].classList.contains("num"));
  const head = h("tr", null, headers.map((text, i) => h("th", { scope: "col", class: numeric[i] ? "num" : null }, text)));
  return h(
    "div",
    { class: "table-wrap" },
    h("table", null, caption ? h("caption", { class: "muted small" }, caption) : null, h("thead", null, head), h("tbody", null, rows.map((cells) => h("tr", null, cells.map((cell) => (cell instanceof Node && cell.tagName === "TD" ? cell : h("td", null, cell))))))),
  );
}

export function num(value, digits = 0) {
  return h("td", { class: "num" }, value === null || value === undefined ? "–" : Number(value).toFixed(digits));
}

export function when(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function clock(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  const s = Number(value);
  const m = Math.floor(s / 60);
  return m ? `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}` : `${s.toFixed(1)} s`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function toast(message, kind = "info", timeout = 5000) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), timeout);
}

// The problem an API error names, fit for a person.
export function problem(error) {
  if (error && error.detail) return error.detail;
  if (error && error.name === "AbortError") return "cancelled";
  return (error && error.message) || String(error);
}

// A form's error area, announced when it changes.
export function errorBox() {
  return h("p", { class: "error", role: "alert" });
}

// Runs `task` while `button` shows that something is going on.
export async function busy(button, task) {
  button.disabled = true;
  try {
    return await task();
  } finally {
    button.disabled = false;
  }
}
