// The API client. The access token lives in this module's memory only; the refresh token is in
// an HttpOnly cookie that only the browser sign-in routes receive (no script can read it).

export const PREFIX = "/api/v1";
const BROWSER_AUTH = `${PREFIX}/auth/browser`;
// Proves to the browser sign-in routes that the request comes from this site's own pages.
const CONSOLE_HEADER = { "X-Requested-With": "vigil-console" };
// Refresh this long before the access token runs out, so requests never carry a stale one.
const REFRESH_MARGIN_MS = 60_000;

let accessToken = null;
let expiresAt = 0;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.detail = body && body.detail;
    this.fields = (body && body.fields) || [];
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { detail: `${response.status} ${response.statusText}` };
  }
  return new ApiError(response.status, body);
}

export function onAuthChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setSession(session) {
  const was = accessToken !== null;
  accessToken = session ? session.access_token : null;
  expiresAt = session ? Date.now() + session.expires_in * 1000 : 0;
  if (was !== (accessToken !== null)) for (const listener of listeners) listener(accessToken !== null);
}

export function signedIn() {
  return accessToken !== null;
}

// The page can see this cookie (not the refresh token's): it says a refresh is worth trying.
export function hasSessionCookie() {
  return document.cookie.split(";").some((c) => c.trim() === "vigil_session=1");
}

export async function signIn(email, password) {
  const response = await fetch(`${BROWSER_AUTH}/signin`, {
    method: "POST",
    headers: CONSOLE_HEADER,
    body: new URLSearchParams({ username: email, password }),
  });
  if (!response.ok) throw await errorOf(response);
  setSession(await response.json());
}

async function refreshNow() {
  if (!hasSessionCookie()) {
    setSession(null);
    return false;
  }
  const response = await fetch(`${BROWSER_AUTH}/refresh`, { method: "POST", headers: CONSOLE_HEADER });
  if (!response.ok) {
    setSession(null);
    return false;
  }
  setSession(await response.json());
  return true;
}

// One refresh at a time, across this browser's tabs too: two tabs rotating the same refresh token
// at once would look like a stolen token being reused, which ends the session.
export function refresh() {
  if (!refreshing) {
    const run = navigator.locks ? navigator.locks.request("vigil-refresh", refreshNow) : refreshNow();
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

export async function signOut() {
  try {
    await fetch(`${BROWSER_AUTH}/signout`, { method: "POST", headers: CONSOLE_HEADER });
  } finally {
    setSession(null);
  }
}

// After a password change or "sign out everywhere" the server has ended the session already.
export function forget() {
  setSession(null);
}

async function freshToken() {
  if (accessToken && Date.now() > expiresAt - REFRESH_MARGIN_MS) await refresh();
  if (!accessToken) throw new ApiError(401, { error: "not_authenticated", detail: "signed out" });
  return accessToken;
}

export function authHeaders(headers = {}) {
  return { ...headers, Authorization: `Bearer ${accessToken}` };
}

// request("/jobs", {query: {page: 2}}) → parsed JSON; {raw: true} → the Response itself.
export async function request(path, { method = "GET", json, body, query, headers = {}, signal, raw = false } = {}) {
  let url = path.startsWith("/api/") ? path : PREFIX + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, value);
    }
    if ([...params].length) url += `?${params}`;
  }
  const init = { method, signal, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const send = async () => fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${await freshToken()}` } });
  let response = await send();
  if (response.status === 401 && (await refresh())) response = await send();
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// A protected file (an annotated video, a snapshot) as a blob: URL for <video>/<img>.
export async function blobUrl(path, { signal } = {}) {
  const response = await request(path, { raw: true, signal });
  return URL.createObjectURL(await response.blob());
}

// A multipart upload with upload progress (fetch cannot report it). Resolves {status, body}.
export async function upload(path, form, onProgress) {
  const token = await freshToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", PREFIX + path);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body: xhr.response });
      else reject(new ApiError(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { detail: "the upload failed (network)" })));
    xhr.send(form);
  });
}
