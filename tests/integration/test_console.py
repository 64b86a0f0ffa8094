"""The web console as the API serves it: `GET /` answers a browser with the page and anyone else
with the service's description; the page's files are cached for good under a version, the page
itself revalidated; a strict Content-Security-Policy on all of them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from shared.ops.localstack import LocalStack

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# A module named by a relative path: imported, or named in the router's table of pages.
IMPORT = re.compile(r"""["'](\.{1,2}/[\w./-]+\.js)["']""")


@pytest.fixture
def root(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def _page(root: httpx.Client) -> httpx.Response:
    page = root.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200, page.text
    return page


def test_a_browser_gets_the_console_and_anyone_else_the_service(root: httpx.Client) -> None:
    page = _page(root)
    assert page.headers["content-type"].startswith("text/html")
    assert '<main id="main"' in page.text
    assert page.headers["vary"] == "Accept"
    for accept in ("*/*", "application/json", None):
        answer = root.get("/", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["vary"] == "Accept"
        info = answer.json()
        assert info["status"] == "running"
        assert info["service"] == "Vigil"
        assert info["endpoints"]["docs"] == "/docs"
        assert info["endpoints"]["api"]["offer"] == "/api/offer"


def test_the_page_runs_its_own_files_only(root: httpx.Client) -> None:
    page = _page(root)
    policy = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' blob: data:"
    assert directives["media-src"] == "'self' blob:"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text
    assert " style=" not in page.text


def test_the_page_is_revalidated_and_its_files_kept_for_good(root: httpx.Client) -> None:
    page = _page(root)
    assert page.headers["cache-control"] == "no-cache"
    same = root.get("/", headers={"Accept": BROWSER_ACCEPT, "If-None-Match": page.headers["etag"]})
    assert same.status_code == 304
    assert same.content == b""

    sources = re.findall(r'(?:src|href)="(/console/[^"]+)"', page.text)
    assert any(s.endswith("/js/app.js") for s in sources)
    version = sources[0].split("/")[2]
    # Every module, with every module it imports (statically or on demand), is served.
    pending, seen = list(sources), set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        asset = root.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in asset.headers
        if url.endswith(".js"):
            assert asset.headers["content-type"].startswith("text/javascript"), url
            folder = url.rsplit("/", 1)[0]
            for relative in IMPORT.findall(asset.text):
                pending.append(str(httpx.URL(f"http://x{folder}/").join(relative).path))
    assert {"/js/pages/jobs.js", "/js/pages/settings.js", "/js/sse.js"} <= {
        url.split(version, 1)[1] for url in seen
    }
    again = root.get(f"/console/{version}/console.css")
    revalidated = root.get(
        f"/console/{version}/console.css", headers={"If-None-Match": again.headers["etag"]}
    )
    assert revalidated.status_code == 304
    # A page loaded before an upgrade asks for an older version: today's file, not to be kept.
    older = root.get("/console/000000000000/console.css")
    assert older.status_code == 200
    assert older.headers["cache-control"] == "no-cache"
    missing = root.get(f"/console/{version}/js/nothing.js")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
