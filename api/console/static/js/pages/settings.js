// Settings: the account (profile, password, sessions, audit trail), API keys, webhooks with their
// deliveries, and the plate watchlist.

import * as api from "../api.js";
import { busy, checkbox, errorBox, field, h, problem, stateBadge, table, toast, when } from "../dom.js";

const TABS = [
  ["account", "Account"],
  ["keys", "API keys"],
  ["webhooks", "Webhooks"],
  ["watchlist", "Watchlist"],
];
const EVENT_TYPES = ["job.completed", "job.failed", "job.progress", "plate.watchlist_match", "camera.online", "camera.offline"];

// A secret shown once, with a way to copy it.
function secretBox(label, secret) {
  const copy = h("button", { type: "button", class: "secondary" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      toast("Copied.", "ok");
    } catch {
      toast("Copying is not allowed here: select the text instead.", "bad");
    }
  });
  return h("div", { class: "notice", role: "alert" }, h("p", null, label), h("div", { class: "secret" }, h("code", { class: "mono", dataset: { secret: "" } }, secret), copy));
}

async function account(box, { me, go, signal, refreshMe }) {
  const nameError = errorBox();
  const saveName = h("button", { type: "submit" }, "Save");
  const profile = h(
    "form",
    { "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "Profile"),
    h("p", null, "Signed in as ", h("strong", null, me.email), `, since ${when(me.created_at)}.`),
    field({ label: "Full name", name: "full_name", value: me.full_name || "", maxlength: "200", autocomplete: "name" }),
    nameError,
    h("div", { class: "actions" }, saveName),
  );
  profile.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(saveName, async () => {
      try {
        await api.request("/me", { method: "PATCH", json: { full_name: profile.elements.full_name.value.trim() || null } });
        await refreshMe();
        toast("Profile saved.", "ok");
      } catch (e) {
        nameError.textContent = problem(e);
      }
    });
  });

  const passwordError = errorBox();
  const change = h("button", { type: "submit" }, "Change password");
  const password = h(
    "form",
    { "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, "Change password"),
    h("p", { class: "muted small" }, "This signs you out everywhere, here too: sign in again with the new password."),
    // For password managers, which file the new password under this account.
    h("input", { type: "text", name: "username", autocomplete: "username", value: me.email, hidden: true, tabindex: "-1", "aria-hidden": "true" }),
    field({ label: "Current password", name: "current_password", type: "password", autocomplete: "current-password", required: true }),
    field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "128" }),
    field({ label: "New password again", name: "confirm", type: "password", autocomplete: "new-password", required: true }),
    passwordError,
    h("div", { class: "actions" }, change),
  );
  password.addEventListener("submit", (event) => {
    event.preventDefault();
    passwordError.textContent = "";
    const { current_password, new_password, confirm } = Object.fromEntries(new FormData(password));
    if (new_password !== confirm) {
      passwordError.textContent = "The new passwords differ.";
      return;
    }
    busy(change, async () => {
      try {
        await api.request("/auth/password/change", { method: "POST", json: { current_password, new_password } });
        toast("Password changed: sign in with the new one.", "ok");
        await api.signOut();
        go("/signin");
      } catch (e) {
        passwordError.textContent = problem(e);
      }
    });
  });

  const everywhere = h("button", { type: "button", class: "danger" }, "Sign out everywhere");
  everywhere.addEventListener("click", () => {
    if (!window.confirm("End every session of this account, on every device, this one too?")) return;
    busy(everywhere, async () => {
      await api.request("/auth/signout-all", { method: "POST" });
      await api.signOut();
      go("/signin");
    });
  });

  const audit = await api.request("/me/audit-events", { query: { page_size: 20 }, signal });
  box.append(
    h("div", { class: "panel" }, profile),
    h("div", { class: "panel" }, password),
    h(
      "section",
      { class: "panel", "aria-labelledby": "sessions-title" },
      h("h2", { id: "sessions-title" }, "Sessions"),
      h("p", { class: "muted small" }, "Ends every sign-in and every access token issued so far. API keys are not affected."),
      everywhere,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "audit-title" },
      h("h2", { id: "audit-title" }, "Security events"),
      table(
        ["When", "What", "From", "Details"],
        audit.items.map((e) => [when(e.created_at), e.action, e.ip || "–", h("span", { class: "small mono" }, JSON.stringify(e.details))]),
        { empty: "Nothing recorded yet." },
      ),
    ),
  );
}

async function keys(box, { signal }) {
  const list = h("div");
  const shown = h("div");
  async function load() {
    const page = await api.request("/api-keys", { query: { include_revoked: "true" }, signal });
    list.replaceChildren(
      table(
        ["Name", "Key starts", "Scopes", "Created", "Last used", "Expires", ""],
        page.items.map((key) => [
          key.name,
          h("span", { class: "mono" }, `${key.prefix}…`),
          key.scopes.join(", "),
          when(key.created_at),
          when(key.last_used_at),
          when(key.expires_at),
          key.revoked_at
            ? stateBadge("revoked")
            : h(
                "button",
                {
                  type: "button",
                  class: "secondary",
                  onclick: (event) => {
                    if (!window.confirm(`Revoke the key “${key.name}”? Requests with it fail at once.`)) return;
                    busy(event.currentTarget, async () => {
                      await api.request(`/api-keys/${key.id}`, { method: "DELETE" });
                      toast(`Key ${key.name} revoked.`, "ok");
                      await load();
                    });
                  },
                },
                `Revoke ${key.name}`,
              ),
        ]),
        { empty: "No API keys yet." },
      ),
    );
  }
  const error = errorBox();
  const create = h("button", { type: "submit" }, "Create key");
  const form = h(
    "form",
    { "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "New API key"),
    h(
      "div",
      { class: "row" },
      field({ label: "Name", name: "name", required: true, maxlength: "200", placeholder: "nightly upload" }),
      field({ label: "Expires (optional)", name: "expires_at", type: "datetime-local" }),
    ),
    h(
      "fieldset",
      null,
      h("legend", null, "Scopes"),
      checkbox({ label: "read (always)", name: "scope_read", checked: true, disabled: true }),
      checkbox({ label: "write: submit jobs, change the watchlist", name: "scope_write", checked: true }),
      checkbox({ label: "admin: API keys, webhooks, password", name: "scope_admin" }),
    ),
    error,
    h("div", { class: "actions" }, create),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const scopes = ["read", ...["write", "admin"].filter((s) => form.elements[`scope_${s}`].checked)];
    const body = { name: form.elements.name.value.trim(), scopes };
    if (form.elements.expires_at.value) body.expires_at = new Date(form.elements.expires_at.value).toISOString();
    busy(create, async () => {
      try {
        const made = await api.request("/api-keys", { method: "POST", json: body });
        shown.replaceChildren(secretBox(`The key “${made.name}”: store it now, it is never shown again. Send it as X-API-Key.`, made.key));
        form.reset();
        await load();
      } catch (e) {
        error.textContent = problem(e);
      }
    });
  });
  await load();
  box.append(h("div", { class: "panel" }, form, shown), h("section", { class: "panel", "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title" }, "Your keys"), list));
}

function deliveriesOf(endpoint, signal) {
  const box = h("div");
  async function load() {
    const page = await api.request(`/webhooks/${endpoint.id}/deliveries`, { query: { page_size: 20 }, signal });
    box.replaceChildren(
      table(
        ["Created", "Event", "Status", "Attempts", "Last answer", ""],
        page.items.map((d) => [
          when(d.created_at),
          d.event_type,
          stateBadge(d.status),
          h("td", { class: "num" }, String(d.attempts)),
          d.last_status_code ? String(d.last_status_code) : d.last_error || "–",
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: (event) =>
                busy(event.currentTarget, async () => {
                  try {
                    await api.request(`/webhook-deliveries/${d.id}/redeliver`, { method: "POST" });
                    toast("Sent again.", "ok");
                    await load();
                  } catch (e) {
                    toast(problem(e), "bad");
                  }
                }),
            },
            "Redeliver",
          ),
        ]),
        { empty: "Nothing delivered yet." },
      ),
    );
  }
  return { box, load };
}

async function webhooks(box, { signal }) {
  const list = h("div");
  const shown = h("div");
  async function load() {
    const endpoints = await api.request("/webhooks", { signal });
    list.replaceChildren(
      ...(endpoints.items.length
        ? endpoints.items.map((endpoint) => {
            const deliveries = deliveriesOf(endpoint, signal);
            const details = h("details", null, h("summary", null, "Deliveries"), deliveries.box);
            details.addEventListener("toggle", () => details.open && deliveries.load().catch((e) => toast(problem(e), "bad")));
            const toggle = h("button", { type: "button", class: "secondary" }, endpoint.is_active ? "Disable" : "Enable");
            toggle.addEventListener("click", () =>
              busy(toggle, async () => {
                await api.request(`/webhooks/${endpoint.id}`, { method: "PATCH", json: { is_active: !endpoint.is_active } });
                await load();
              }),
            );
            const remove = h("button", { type: "button", class: "danger" }, "Delete");
            remove.addEventListener("click", () => {
              if (!window.confirm(`Delete the webhook to ${endpoint.url} and its delivery history?`)) return;
              busy(remove, async () => {
                await api.request(`/webhooks/${endpoint.id}`, { method: "DELETE" });
                await load();
              });
            });
            return h(
              "article",
              { class: "panel", dataset: { webhook: endpoint.id } },
              h("h3", { class: "mono" }, endpoint.url),
              h("p", null, stateBadge(endpoint.is_active ? "active" : "inactive"), " ", endpoint.event_types.join(", "), endpoint.disabled_reason ? h("span", { class: "error" }, ` (${endpoint.disabled_reason})`) : ""),
              endpoint.description ? h("p", { class: "muted" }, endpoint.description) : null,
              details,
              h("div", { class: "actions" }, toggle, remove),
            );
          })
        : [h("p", { class: "muted" }, "No webhooks yet.")]),
    );
  }
  const error = errorBox();
  const create = h("button", { type: "submit" }, "Add webhook");
  const form = h(
    "form",
    { "aria-labelledby": "new-hook-title" },
    h("h2", { id: "new-hook-title" }, "New webhook"),
    field({ label: "URL", name: "url", type: "url", required: true, placeholder: "https://…/hooks/vigil" }),
    field({ label: "Description (optional)", name: "description", maxlength: "200" }),
    h("fieldset", null, h("legend", null, "Events to send"), EVENT_TYPES.map((type) => checkbox({ label: type, name: "event_types", value: type, checked: type === "job.completed" }))),
    error,
    h("div", { class: "actions" }, create),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = {
      url: form.elements.url.value.trim(),
      event_types: [...form.querySelectorAll("input[name=event_types]:checked")].map((input) => input.value),
    };
    if (form.elements.description.value.trim()) body.description = form.elements.description.value.trim();
    busy(create, async () => {
      try {
        const made = await api.request("/webhooks", { method: "POST", json: body });
        shown.replaceChildren(secretBox(`The signing secret of ${made.url}: store it now, it is shown only once.`, made.secret));
        form.reset();
        await load();
      } catch (e) {
        error.textContent = problem(e);
      }
    });
  });
  await load();
  box.append(h("div", { class: "panel" }, form, shown), h("section", { "aria-labelledby": "hooks-title" }, h("h2", { id: "hooks-title" }, "Your webhooks"), list));
}

async function watchlist(box, { signal }) {
  const list = h("div");
  async function load() {
    const entries = await api.request("/watchlist", { signal });
    list.replaceChildren(
      table(
        ["Plate", "Kind", "Label", "Added", ""],
        entries.map((entry) => [
          h("span", { class: "mono" }, entry.pattern),
          entry.kind,
          entry.label || "–",
          when(entry.created_at),
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: (event) =>
                busy(event.currentTarget, async () => {
                  await api.request(`/watchlist/${entry.id}`, { method: "DELETE" });
                  await load();
                }),
            },
            `Remove ${entry.pattern}`,
          ),
        ]),
        { empty: "The watchlist is empty." },
      ),
    );
  }
  const error = errorBox();
  const add = h("button", { type: "submit" }, "Add to watchlist");
  const form = h(
    "form",
    { "aria-labelledby": "watch-title" },
    h("h2", { id: "watch-title" }, "Watch for a plate"),
    h(
      "div",
      { class: "row" },
      field({ label: "Plate or pattern", name: "plate", required: true, placeholder: "KA-22 P 3368 or SN66*", autocomplete: "off" }),
      field({ label: "Kind", name: "kind", type: "select", value: "exact", options: [["exact", "Exact plate"], ["pattern", "Pattern (* and ?)"]] }),
      field({ label: "Label (optional)", name: "label", maxlength: "200" }),
    ),
    error,
    h("div", { class: "actions" }, add),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { plate: form.elements.plate.value, kind: form.elements.kind.value };
    if (form.elements.label.value.trim()) body.label = form.elements.label.value.trim();
    busy(add, async () => {
      try {
        await api.request("/watchlist", { method: "POST", json: body });
        form.reset();
        await load();
      } catch (e) {
        error.textContent = problem(e);
      }
    });
  });
  await load();
  box.append(h("div", { class: "panel" }, form), h("section", { class: "panel", "aria-labelledby": "watched-title" }, h("h2", { id: "watched-title" }, "Watched plates"), list));
}

const PAGES = { account, keys, webhooks, watchlist };

export async function settings(main, [tab = "account"], ctx) {
  const current = PAGES[tab] ? tab : "account";
  const label = TABS.find(([key]) => key === current)[1];
  main.append(
    h("h1", null, `Settings: ${label}`),
    h(
      "nav",
      { class: "tabs", "aria-label": "Settings" },
      TABS.map(([key, text]) => h("a", { href: `#/settings/${key}`, "aria-current": key === current ? "page" : null }, text)),
    ),
  );
  const box = h("div");
  main.append(box);
  await PAGES[current](box, ctx);
}
