"""The console's files (api/console/static), read once and served from memory.

They are addressed under a version, a hash of the whole tree (`/console/<version>/js/app.js`),
so every file can be cached for a year: a change to any file changes every address. ES modules
import each other by relative paths, which resolve under the same version, so no build step
has to rewrite them. The page itself (`index.html`, with `__ASSETS__` standing for the versioned
folder) is revalidated on every load."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
ASSETS_PLACEHOLDER = "__ASSETS__"
URL_PREFIX = "/console"
# Python's table has no entry for some of these on every platform.
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(body: bytes, name: str) -> Asset:
    suffix = Path(name).suffix.lower()
    media_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body, media_type or "application/octet-stream", etag)


@dataclass(frozen=True)
class Console:
    version: str
    files: dict[str, Asset]
    index: Asset

    @property
    def assets_url(self) -> str:
        return f"{URL_PREFIX}/{self.version}"


def load(directory: Path) -> Console:
    """Every file of the tree by its path (POSIX, relative to the tree), and the page."""
    raw = {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    digest = hashlib.sha256()
    for name, body in raw.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:12]
    page = raw[INDEX].replace(ASSETS_PLACEHOLDER.encode(), f"{URL_PREFIX}/{version}".encode())
    files = {name: _asset(body, name) for name, body in raw.items() if name != INDEX}
    return Console(version, files, _asset(page, INDEX))


@cache
def console() -> Console:
    """The console as this process serves it: read once, on first use."""
    return load(STATIC_DIR)
