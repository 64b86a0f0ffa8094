"""The settings reference (docs/settings.md), generated from the Settings class so that it
cannot drift: every field, its environment variable, type, constraints and default, and its
description (the field's own, else the comment lines right above it in shared/settings.py).

`python -m shared.ops.settings_doc` prints the page; the docs site builds it through the
`on_files` hook below (mkdocs.yml `hooks:`), so the page is never a file in the tree."""

from __future__ import annotations

import ast
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from shared import settings as settings_module
from shared.settings import Settings

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

PAGE = "settings.md"
ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))

INTRO = """# Settings

Every setting is an environment variable (or a line of a `.env` file in the working
directory); `.env.example` lists them with working values for one machine. Lists and
objects are written as JSON (`VIGIL_CORS_ORIGINS=["https://console.example.com"]`).
A process refuses to start on a value it cannot use and names the variable to fix.

This page is generated from `shared/settings.py` each time the site is built
(`python -m shared.ops.settings_doc` prints it), so it lists exactly the settings the code
reads. It has {count} of them.

| variable | type | default | meaning |
|---|---|---|---|
"""


@dataclass(frozen=True)
class SettingDoc:
    env: str
    type: str
    default: str
    description: str


def field_comments(source: str, class_name: str = Settings.__name__) -> dict[str, str]:
    """Each field's comment block: the `#` lines directly above its annotation, joined."""
    lines = source.splitlines()
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    comments: dict[str, str] = {}
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        block: list[str] = []
        index = node.lineno - 2
        while index >= 0 and lines[index].strip().startswith("#"):
            block.append(lines[index].strip().removeprefix("#").strip())
            index -= 1
        comments[node.target.id] = " ".join(reversed(block))
    return comments


def field_annotations(source: str, class_name: str = Settings.__name__) -> dict[str, str]:
    """Each field's annotation as written (`list[str]`, `SecretStr | None`)."""
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return {
        node.target.id: ast.get_source_segment(source, node.annotation) or ""
        for node in cls.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }


def _constraints(field: FieldInfo) -> list[str]:
    rendered = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Gt):
            rendered.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Ge):
            rendered.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Lt):
            rendered.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.Le):
            rendered.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.MinLen):
            rendered.append(f"at least {item.min_length} item(s)")
        elif isinstance(item, annotated_types.MaxLen):
            rendered.append(f"at most {item.max_length} item(s)")
    return rendered


def render_value(value: Any) -> str:
    """A default as one would write it in the environment."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "*(unset)*"
    if value == "":
        return "*(empty)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, tuple, dict)):
        return f"`{json.dumps(value, separators=(', ', ': '))}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    # A pipe outside a code span would end the table cell; inside one, Python-Markdown keeps it
    # (and would show an escape literally).
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def settings_docs() -> list[SettingDoc]:
    source = inspect.getsource(settings_module)
    comments = field_comments(source)
    annotations = field_annotations(source)
    docs = []
    for name, field in Settings.model_fields.items():
        type_text = ", ".join(
            [f"`{annotations.get(name) or field.annotation}`", *_constraints(field)]
        )
        default = field.get_default(call_default_factory=True, validated_data={})
        docs.append(
            SettingDoc(
                env=f"{ENV_PREFIX}{name}".upper(),
                type=type_text,
                default=render_value(default),
                description=field.description or comments.get(name, ""),
            )
        )
    return docs


def render() -> str:
    docs = settings_docs()
    rows = [
        f"| `{d.env}` | {_cell(d.type)} | {_cell(d.default)} | {_cell(d.description) or '—'} |"
        for d in docs
    ]
    return INTRO.replace("{count}", str(len(docs))) + "\n".join(rows) + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """mkdocs hook: add the generated page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    page = render()
    if args:
        Path(args[0]).write_text(page)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
