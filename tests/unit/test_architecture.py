"""The API never imports worker/, torch, ultralytics or OpenCV (DESIGN.md rule 1), nor the
live view's WebRTC stack (aiortc, PyAV); the live view service imports no worker/, OpenCV or
torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from shared.params import DETECTOR_PARAMS
from tests.conftest import REPO_ROOT

HEAVY = ("torch", "ultralytics", "cv2", "worker")
# The live view service's own: its peers and codecs run in `python -m live`, never in the API.
WEBRTC = ("aiortc", "av")
PROJECT = ("api", "worker", "shared", "bench", "vigil_sdk", "tests")


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
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in (*HEAVY, *WEBRTC)]
    assert offenders == []


def test_importing_the_api_loads_no_model_library() -> None:
    modules = (*HEAVY, *WEBRTC)
    code = f"import sys, api.main; print(sorted(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_live_view_service_imports_no_worker_no_api_and_no_model_library() -> None:
    """`python -m live` runs from an image without the worker's ML stack, and Dockerfile.live
    copies only shared/ and live/: it reads the runners' frames from Redis, decodes them with
    PyAV, and shares with the API only shared/live/."""
    banned = (*HEAVY, "api")
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in (REPO_ROOT / "live").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in banned
    ]
    assert offenders == []
    code = f"import sys, live.__main__; print(sorted(m for m in {banned!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_importing_the_worker_app_loads_no_model() -> None:
    code = (
        "import sys, worker.celery_app, worker.tasks.analyze; print('ultralytics' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str | None, level: int, package: str) -> str:
    """An ImportFrom's module by its absolute name (`from . import x` in package `a.b`: `a.b`)."""
    if not level:
        return module or ""
    parts = package.split(".")
    return ".".join([*parts[: len(parts) - level + 1], *([module] if module else [])])


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, anywhere in it (inside functions too), by absolute name;
    `from package import name` yields `package.name`, which is a module or else a name."""
    names: list[str] = []
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return names


def test_settings_import_nothing_of_the_project() -> None:
    """Any module may read the settings, so they depend on none (shared/configured.py holds
    the checks that need the domain)."""
    project = [
        name
        for name in _imports(REPO_ROOT / "shared" / "settings.py")
        if name.split(".")[0] in PROJECT
    ]
    assert project == []


def _shared_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in (REPO_ROOT / "shared").rglob("*.py")}
    return {
        name: {imported for imported in _imports(path) if imported in modules} - {name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (its modules in order, the first repeated last), or []."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for imported in sorted(graph[module]):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return []

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_among_shared_modules() -> None:
    assert _cycle(_shared_graph()) == []


ENGINE = REPO_ROOT / "worker" / "engine"


def _names_a_kind(node: ast.expr) -> bool:
    return (
        (isinstance(node, ast.Attribute) and node.attr == "kind")
        or (isinstance(node, ast.Name) and node.id == "kind")
        or (isinstance(node, ast.Constant) and node.value in DETECTOR_PARAMS)
    )


def test_the_pipeline_knows_no_detector_or_analyser_by_name() -> None:
    """The pipeline loops over what the registries built for the job: it never picks a plugin
    by its class or its kind, nor imports one."""
    path = ENGINE / "pipeline.py"
    tree = ast.parse(path.read_text())
    offenders = [
        f"line {node.lineno}: {node.func.id}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("isinstance", "issubclass", "type")
    ]
    offenders += [
        f"line {node.lineno}: compares a kind"
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare) and any(map(_names_a_kind, [node.left, *node.comparators]))
    ]
    offenders += [
        f"line {node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in DETECTOR_PARAMS
    ]
    generic = ("worker.engine.analysers.base", "worker.engine.analysers.registry")
    offenders += [
        name
        for name in _imports(path)
        if name.startswith(("worker.detectors.plugins", "worker.engine.analysers."))
        and not name.startswith(generic)
    ]
    assert offenders == []


def test_detectors_never_import_the_engine() -> None:
    """Detectors are stateless and shared by every stream; the engine builds on them."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in (REPO_ROOT / "worker" / "detectors").rglob("*.py")
        for name in _imports(path)
        if name.startswith("worker.engine")
    ]
    assert offenders == []


def test_the_engine_runs_without_the_job_machinery() -> None:
    """Camera runners run the engine outside Celery: it imports no task, service or queue."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in ENGINE.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] == "celery"
        or name.startswith(("worker.services", "worker.tasks", "worker.celery_app"))
    ]
    assert offenders == []


CELERY_APPS = ("worker.celery_app", "worker.webhook_app", "worker.tasks")


def test_the_camera_runner_is_no_celery_worker() -> None:
    """A camera never ends: as a Celery task it would be delivered again after the broker's
    visibility timeout and hold a pool slot for ever. worker/cameras imports neither Celery nor
    the worker's Celery apps and tasks (webhooks go out through shared.enqueue, as the API's
    do)."""
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in (REPO_ROOT / "worker" / "cameras").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] == "celery" or name.startswith((*CELERY_APPS, "worker.services"))
    ]
    assert offenders == []
    code = (
        "import sys, worker.cameras.__main__; "
        f"print(sorted(m for m in {CELERY_APPS!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
