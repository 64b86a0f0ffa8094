// Sign in and sign up.

import * as api from "../api.js";
import { busy, errorBox, field, h, problem } from "../dom.js";

function afterSignin(go) {
  const next = sessionStorage.getItem("vigil-after-signin");
  sessionStorage.removeItem("vigil-after-signin");
  go(next && next !== "/signin" && next !== "/signup" ? next : "/jobs");
}

export function signin(main, _params, { go }) {
  const error = errorBox();
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "signin-title" },
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    error,
    h("div", { class: "actions" }, submit, h("a", { href: "#/signup" }, "Create an account")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    busy(submit, async () => {
      try {
        await api.signIn(form.elements.email.value, form.elements.password.value);
        afterSignin(go);
      } catch (e) {
        error.textContent = problem(e);
        form.elements.password.select();
      }
    });
  });
  main.append(h("section", { class: "narrow" }, h("h1", { id: "signin-title" }, "Sign in"), form));
  form.elements.email.focus();
}

export function signup(main, _params, { go }) {
  const error = errorBox();
  const submit = h("button", { type: "submit" }, "Create account");
  const form = h(
    "form",
    { class: "panel", "aria-labelledby": "signup-title" },
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    field({ label: "Full name (optional)", name: "full_name", autocomplete: "name" }),
    field({
      label: "Password",
      name: "password",
      type: "password",
      autocomplete: "new-password",
      required: true,
      minlength: "8",
      maxlength: "128",
      hint: "At least 8 characters.",
    }),
    field({ label: "Invite code (if you were given one)", name: "invite_code", autocomplete: "off" }),
    error,
    h("div", { class: "actions" }, submit, h("a", { href: "#/signin" }, "I have an account")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = Object.fromEntries(new FormData(form));
    for (const key of ["full_name", "invite_code"]) if (!data[key]) delete data[key];
    busy(submit, async () => {
      try {
        await fetchSignup(data);
        await api.signIn(data.email, data.password);
        afterSignin(go);
      } catch (e) {
        error.textContent = problem(e);
      }
    });
  });
  main.append(h("section", { class: "narrow" }, h("h1", { id: "signup-title" }, "Create an account"), form));
  form.elements.email.focus();
}

async function fetchSignup(data) {
  const response = await fetch(`${api.PREFIX}/auth/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = { detail: response.statusText };
    }
    throw new api.ApiError(response.status, body);
  }
}
