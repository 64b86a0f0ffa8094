"""The web console's files and how they are served: nothing from another site, nothing the
Content-Security-Policy would block, versioned addresses, and the choice between the page and
the service's description."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from api import client_address
from api.console.assets import ASSETS_PLACEHOLDER, INDEX, STATIC_DIR, load
from api.console.router import wants_html

# XML's name for SVG: an identifier that is never fetched, not an address.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
TEXT_SUFFIXES = {".html", ".css", ".js", ".svg"}


def _texts() -> dict[Path, str]:
    return {
        path: path.read_text()
        for path in sorted(STATIC_DIR.rglob("*"))
        if path.suffix in TEXT_SUFFIXES
    }


def test_the_console_refers_to_no_other_site() -> None:
    texts = _texts()
    assert any(path.suffix == ".js" for path in texts)
    found = {
        f"{path.relative_to(STATIC_DIR)}: {match}"
        for path, text in texts.items()
        for match in URL.findall(text.replace(SVG_NAMESPACE, ""))
    }
    assert found == set()


def test_the_console_needs_no_inline_script_or_style() -> None:
    page = (STATIC_DIR / INDEX).read_text()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts
    assert all('src="' in tag for tag in scripts)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page)
    for path, text in _texts().items():
        if path.suffix != ".js":
            continue
        # What the policy refuses (eval, inline styles set as attributes), and what would let
        # data from the API run as markup.
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert forbidden not in text, f"{path.name}: {forbidden}"
        assert 'setAttribute("style"' not in text, path.name


def test_every_relative_import_names_a_file_of_the_console() -> None:
    for path, text in _texts().items():
        if path.suffix != ".js":
            continue
        for relative in re.findall(r"""["'](\.{1,2}/[\w./-]+\.js)["']""", text):
            target = path.parent / relative
            # The router's table names pages relative to app.js, where they are imported.
            assert target.resolve().is_file(), f"{path.name}: {relative}"


def test_files_are_addressed_under_a_version_of_the_whole_tree(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / INDEX).write_text(f'<script type="module" src="{ASSETS_PLACEHOLDER}/js/a.js">')
    (tmp_path / "js" / "a.js").write_text("export const a = 1;")
    first = load(tmp_path)
    assert (
        first.index.body.decode()
        == f'<script type="module" src="/console/{first.version}/js/a.js">'
    )
    assert set(first.files) == {"js/a.js"}
    assert first.files["js/a.js"].media_type.startswith("text/javascript")
    assert load(tmp_path).version == first.version
    (tmp_path / "js" / "a.js").write_text("export const a = 2;")
    second = load(tmp_path)
    assert second.version != first.version
    assert second.files["js/a.js"].etag != first.files["js/a.js"].etag


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("application/xhtml+xml", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=0.9, application/json;q=0.9", True),
        ("text/html;q=nonsense", False),
    ],
)
def test_the_page_goes_to_clients_that_prefer_html(accept: str, html: bool) -> None:
    assert wants_html(accept) is html


PROXY = ipaddress.ip_network("10.0.0.0/24")


@pytest.mark.parametrize(
    ("scheme", "peer", "forwarded", "https"),
    [
        ("https", "203.0.113.7", [], True),
        ("http", "203.0.113.7", [], False),
        # Only a trusted proxy is believed.
        ("http", "203.0.113.7", [b"https"], False),
        ("http", "10.0.0.5", [b"https"], True),
        ("http", "10.0.0.5", [b"HTTPS"], True),
        ("http", "10.0.0.5", [b"http"], False),
        ("http", "10.0.0.5", [], False),
        # The nearest proxy's word counts: it appends, or sets, the last value.
        ("http", "10.0.0.5", [b"https, http"], False),
        ("http", "10.0.0.5", [b"http", b"https"], True),
    ],
)
def test_https_is_what_the_connection_or_a_trusted_proxy_says(
    monkeypatch: pytest.MonkeyPatch, scheme: str, peer: str, forwarded: list[bytes], https: bool
) -> None:
    monkeypatch.setattr(client_address, "trusted_networks", lambda: (PROXY,))
    scope = {
        "type": "http",
        "scheme": scheme,
        "client": (peer, 50000),
        "headers": [(b"x-forwarded-proto", value) for value in forwarded],
    }
    assert client_address.is_https(scope) is https
