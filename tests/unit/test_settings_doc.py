"""The settings page is generated from the Settings class, so it lists exactly what the code
reads, each with a description (the field's own, else the comment above it)."""

from __future__ import annotations

import re

import markdown

from shared.ops.settings_doc import field_comments, render, render_value, settings_docs
from shared.settings import Settings

SOURCE = """
class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_")

    # First line of a comment,
    # and its second line.
    documented: int = 1
    bare: str = "x"

    # A group heading is the first field's comment.
    first: float = 1.0
    # fmt-like trailing code is not a comment
    x = 1
    second: bool = True
"""


def test_comment_blocks_above_fields_become_descriptions() -> None:
    comments = field_comments(SOURCE)
    assert comments["documented"] == "First line of a comment, and its second line."
    assert comments["bare"] == ""
    assert comments["first"] == "A group heading is the first field's comment."
    assert comments["second"] == ""


def test_the_page_lists_every_setting_once() -> None:
    page = render()
    for name in Settings.model_fields:
        assert page.count(f"| `VIGIL_{name.upper()}` |") == 1, name
    assert f"It has {len(Settings.model_fields)} of them." in page


def test_every_setting_is_described() -> None:
    undocumented = [doc.env for doc in settings_docs() if not doc.description]
    assert undocumented == [], "add a comment above these fields in shared/settings.py"


def test_defaults_read_as_they_would_be_written_in_the_environment() -> None:
    assert render_value(True) == "`true`"
    assert render_value(None) == "*(unset)*"
    assert render_value(["a", "b"]) == '`["a", "b"]`'
    by_env = {doc.env: doc for doc in settings_docs()}
    assert by_env["VIGIL_MODEL_DIR"].default == "`models`"


def test_every_row_renders_as_four_cells() -> None:
    """Pipes in types (`str | None`) and descriptions must not split a cell."""
    html = markdown.markdown(render(), extensions=["tables"])
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)[1:]
    assert len(rows) == len(Settings.model_fields)
    assert all(row.count("<td>") == 4 for row in rows)
