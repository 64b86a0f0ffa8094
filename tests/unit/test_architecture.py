"""The API never imports worker/, torch, ultralytics or OpenCV (DESIGN.md rule 1)."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO_ROOT

HEAVY = ("torch", "ultralytics", "cv2", "worker")


def test_api_and_shared_sources_never_import_the_worker() -> None:
    offenders = []
    for package in ("api", "shared"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom)
                    else []
                )  # fmt: skip
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in HEAVY]
    assert offenders == []


def test_importing_the_api_loads_no_model_library() -> None:
    code = f"import sys, api.main; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_importing_the_worker_app_loads_no_model() -> None:
    code = (
        "import sys, worker.celery_app, worker.tasks.analyze; print('ultralytics' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
