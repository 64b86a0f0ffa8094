"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright's Python
package. Playwright never downloads a browser here (`playwright install` is never run): it
launches /usr/bin/chromium, which `make install` installs. Where that binary is missing the tests
are skipped, saying so; anywhere else they run.

One browser per module. Any error the page logs (a script error, a failed request) or any
uncaught exception fails the test it happened in, unless the test declared that failure as what
it exercises (`console_watch.allow(...)`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Failed loads are reported as console errors that name the address in their location.
FAILED_LOAD = "Failed to load resource"


@dataclass
class ConsoleWatch:
    """What the page reported since the last check."""

    problems: list[str] = field(default_factory=list)
    # Address fragments whose failed loads are the expected outcome of what a test exercises.
    allowed: list[str] = field(default_factory=list)

    def allow(self, address_fragment: str) -> None:
        self.allowed.append(address_fragment)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith(FAILED_LOAD) and any(a in where for a in self.allowed):
            return
        self.problems.append(f"console error: {message.text} ({where})")

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught: {error}")

    def take(self) -> list[str]:
        problems, self.problems, self.allowed = self.problems, [], []
        return problems


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"these tests drive Debian's Chromium, and {CHROMIUM} is absent")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console_watch() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture(scope="module")
def page(browser: Browser, console_watch: ConsoleWatch) -> Iterator[Page]:
    """One page for the module's tests, which follow one user through the console in order."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    opened.on("console", console_watch.on_console)
    opened.on("pageerror", console_watch.on_page_error)
    yield opened
    context.close()


@pytest.fixture(autouse=True)
def no_console_errors(console_watch: ConsoleWatch) -> Iterator[None]:
    yield
    assert console_watch.take() == []


def screenshot(page: Page, name: str) -> None:
    """docs/images/console-<name>.png and the like, when VIGIL_SCREENSHOT_DIR names a folder."""
    folder = os.environ.get("VIGIL_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"console-{name}.png"))
