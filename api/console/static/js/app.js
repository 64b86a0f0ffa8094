// The console's shell: hash routes, the signed-in gate, the header, and page lifecycles.

import * as api from "./api.js";
import { clear, h, problem, toast } from "./dom.js";

// [pattern, module, export, public?]. Pages load on first visit: the first screen needs only this.
const ROUTES = [
  [/^\/signin$/, "./pages/auth.js", "signin", true],
  [/^\/signup$/, "./pages/auth.js", "signup", true],
  [/^\/jobs$/, "./pages/jobs.js", "jobs"],
  [/^\/jobs\/([0-9a-f-]{36})$/, "./pages/job.js", "job"],
  [/^\/cameras$/, "./pages/cameras.js", "cameras"],
  [/^\/cameras\/new$/, "./pages/camera_form.js", "newCamera"],
  [/^\/cameras\/([^/]+)\/edit$/, "./pages/camera_form.js", "editCamera"],
  [/^\/cameras\/([^/]+)$/, "./pages/camera.js", "camera"],
  [/^\/events$/, "./pages/events.js", "events"],
  [/^\/settings(?:\/([a-z-]+))?$/, "./pages/settings.js", "settings"],
];
const HOME = "/jobs";

const main = document.getElementById("main");
let cleanup = null;
let rendering = 0;

function currentPath() {
  let hash;
  try {
    hash = decodeURIComponent(location.hash.slice(1));
  } catch {
    // A malformed escape (a link typed or cut short by hand) leads home, like any unknown path.
    return HOME;
  }
  return hash.startsWith("/") ? hash : HOME;
}

export function go(path) {
  if (currentPath() === path) render();
  else location.hash = `#${path}`;
}

function markNav(path) {
  const section = path.split("/")[1];
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showChrome(me) {
  document.getElementById("nav").hidden = !me;
  document.getElementById("account").hidden = !me;
  document.getElementById("account-email").textContent = me ? me.email : "";
}

let me = null;
async function whoAmI() {
  if (!me && api.signedIn()) me = await api.request("/me");
  return me;
}

async function render() {
  const path = currentPath();
  const ticket = ++rendering;
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.warn("page cleanup failed", error);
    }
    cleanup = null;
  }
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  if (!route) {
    go(HOME);
    return;
  }
  const [pattern, module, name, isPublic] = route;
  if (!isPublic && !api.signedIn()) {
    sessionStorage.setItem("vigil-after-signin", path);
    go("/signin");
    return;
  }
  if (isPublic && api.signedIn()) {
    go(HOME);
    return;
  }
  markNav(path);
  try {
    showChrome(await whoAmI());
    const page = await import(module);
    if (ticket !== rendering) return;
    clear(main);
    const params = pattern.exec(path).slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
    const controller = new AbortController();
    const ctx = { go, me, signal: controller.signal, refreshMe: () => { me = null; return whoAmI(); } };
    const dispose = await page[name](main, params, ctx);
    const stop = () => {
      controller.abort();
      if (typeof dispose === "function") dispose();
    };
    if (ticket !== rendering) stop();
    else cleanup = stop;
    const heading = main.querySelector("h1");
    document.title = heading ? `${heading.textContent} · Vigil` : "Vigil";
    main.focus({ preventScroll: true });
  } catch (error) {
    if (ticket !== rendering || error.name === "AbortError") return;
    if (error.status === 401) return;
    clear(main).append(h("h1", null, "Something went wrong"), h("p", { class: "error", role: "alert" }, problem(error)));
  }
}

let leaving = false;
api.onAuthChange((signedIn) => {
  if (signedIn) return;
  me = null;
  showChrome(null);
  if (!ROUTES.some(([pattern, , , isPublic]) => isPublic && pattern.test(currentPath()))) {
    if (!leaving) toast("Your session has ended; sign in again.");
    go("/signin");
  }
});

document.getElementById("signout").addEventListener("click", async () => {
  leaving = true;
  try {
    await api.signOut();
  } finally {
    leaving = false;
  }
});

// The skip link names an element, not a route.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", render);

async function start() {
  if (api.hasSessionCookie()) await api.refresh();
  await render();
  // Milliseconds from navigation to the first screen, for anyone looking (the browser tests do).
  document.documentElement.dataset.loadedMs = String(Math.round(performance.now()));
}

start();
