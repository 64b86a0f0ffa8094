"""The manual builds with `mkdocs build --strict` (every link and anchor resolves, every page
is in the nav), the README's links into it resolve, and product text speaks of what Vigil is
compatible with, not of where its requirements came from."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
MKDOCS = Path(sys.executable).with_name("mkdocs")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc (and GitHub) give a heading."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[-\s]+", "-", text).strip("-")


def test_the_manual_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The generated page is built, never a file in docs/.
    assert "VIGIL_MODEL_DIR" in (site / "settings.html").read_text()
    assert not (DOCS / "settings.md").exists()


def test_readme_links_into_the_manual_resolve() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    local = [link for link in LINK.findall(readme) if not link.startswith(("http", "#"))]
    assert local, "the README links into docs/"
    for link in local:
        path, _, anchor = link.partition("#")
        target = REPO_ROOT / path
        assert target.exists(), link
        if anchor:
            slugs = {_slug(h) for h in HEADING.findall(target.read_text())}
            assert anchor in slugs, link


PRODUCT_TEXT = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "mkdocs.yml",
    REPO_ROOT / ".env.example",
    *DOCS.glob("*.md"),
    *(
        p
        for d in ("api", "worker", "shared", "sdk", "bench")
        for p in (REPO_ROOT / d).rglob("*.py")
    ),
]
# The product's origins ("seed 002's routes") and the machines it was built on; a random
# seed is fine.
INTERNAL = re.compile(r"\bseeds?[- ]?\d|shared/seeds|development machines?", re.IGNORECASE)


def test_product_text_has_no_internal_wording() -> None:
    hits = {
        f"{path.relative_to(REPO_ROOT)}:{number}": line.strip()
        for path in PRODUCT_TEXT
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNAL.search(line)
    }
    assert hits == {}
