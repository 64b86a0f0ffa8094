"""The console's first screen as `make bench-live` times it in headless Chromium: from the start
of navigation until the page's first view is drawn (no "Loading…" left in <main>, its heading
shown). Timed twice per call: a new visitor's sign-in screen, and a signed-in operator's job
list after a reload (the access token, kept in memory only, is renewed through the refresh
cookie first)."""

from __future__ import annotations

import secrets

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.live_browser import CHROMIUM

PASSWORD = "bench-console-password-1"
DRAWN = "() => !document.querySelector('#main .loading') && !!document.querySelector('#main h1')"
SINCE_NAVIGATION = "() => performance.now()"


def _drawn(page: Page) -> float:
    page.wait_for_function(DRAWN)
    elapsed_ms: float = page.evaluate(SINCE_NAVIGATION)
    return elapsed_ms / 1000


def first_screen(base_url: str) -> float:
    """The slower of the two first screens, in seconds."""
    email = f"bench-console-{secrets.token_hex(4)}@example.com"
    httpx.post(
        f"{base_url}/api/v1/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30
    ).raise_for_status()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/")
            visitor = _drawn(page)
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/#/jobs")
            page.wait_for_function(DRAWN)
            page.reload()
            operator = _drawn(page)
        finally:
            browser.close()
    return max(visitor, operator)
