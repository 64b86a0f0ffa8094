"""`vigil models fetch|export` and the one message a machine without weights shows. Nothing
here reaches the internet: the fetch is run where downloads cannot succeed, and the export
works on a `.pt` built from ultralytics' own model definition (random weights)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.ops.preflight import PreflightError, check_model
from shared.settings import get_settings
from worker.detectors.export import ModelExportError, fetch
from worker.detectors.models import resolve_model
from worker.errors import ModelUnavailableError

VIGIL = [str(Path(sys.executable).with_name("vigil"))]
EMBEDDED = [sys.executable, "-m", "worker.cli"]
# A closed port on loopback: every proxied request fails at once.
NOWHERE = "http://127.0.0.1:9"


def _offline_env(home: Path) -> dict[str, str]:
    """No cached weights (a fresh HOME and ultralytics config dir) and no network."""
    return os.environ | {
        "HOME": str(home),
        "YOLO_CONFIG_DIR": str(home / "ultralytics"),
        "YOLO_OFFLINE": "1",
        "HTTPS_PROXY": NOWHERE,
        "https_proxy": NOWHERE,
        "HTTP_PROXY": NOWHERE,
        "http_proxy": NOWHERE,
        "NO_PROXY": "",
        "no_proxy": "",
    }


def _run(command: list[str], *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=home,
        env=_offline_env(home),
    )


def test_missing_weights_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as raised:
        resolve_model("yolov8n_int8_openvino_model", tmp_path)
    message = str(raised.value)
    assert str(tmp_path.resolve()) in message
    assert "`vigil models fetch`" in message
    assert "docs/operations.md#models" in message

    settings = get_settings().model_copy(update={"model_dir": tmp_path})
    with pytest.raises(PreflightError, match="`vigil models fetch`"):
        check_model(settings)


def test_a_missing_plate_model_is_not_sent_to_the_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as raised:
        resolve_model(get_settings().plate_model_name, tmp_path)
    assert "no plate model is published" in str(raised.value)
    assert "vigil models export" in str(raised.value)


@pytest.mark.parametrize("command", [VIGIL, EMBEDDED], ids=["vigil", "python-m-worker.cli"])
def test_fetch_without_internet_fails_in_one_line(command: list[str], tmp_path: Path) -> None:
    done = _run(
        command, "models", "fetch", "--dir", str(tmp_path / "m"), "--no-int8", home=tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot download yolov8n.pt" in done.stderr
    assert "`vigil models fetch`" in done.stderr
    assert not (tmp_path / "m" / "yolov8n.pt").exists()


def test_fetch_refuses_unknown_models_before_any_download(tmp_path: Path) -> None:
    with pytest.raises(ModelExportError, match=r"'yolov8q' is not one of .*yolov8n"):
        fetch("yolov8q", tmp_path, int8=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def random_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLOv8n `.pt` with random weights, built offline from ultralytics' yaml."""
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("pt") / "tiny.pt"
    YOLO("yolov8n.yaml").save(str(path))
    return path


def test_export_writes_the_openvino_folder(random_pt: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    done = _run(
        EMBEDDED, "models", "export", str(random_pt), "--dir", str(out), "--no-int8", home=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    folder = out / "tiny_openvino_model"
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.yaml", "tiny.bin", "tiny.xml"]
    assert "VIGIL_MODEL_NAME=tiny_openvino_model" in done.stdout
    # Nothing is left beside the source or in the target besides the export.
    assert sorted(p.name for p in random_pt.parent.iterdir()) == ["tiny.pt"]
    assert [p.name for p in out.iterdir()] == ["tiny_openvino_model"]

    again = _run(
        EMBEDDED, "models", "export", str(random_pt), "--dir", str(out), "--no-int8", home=tmp_path
    )
    assert again.returncode == 1
    assert "already exists; pass --force" in again.stderr
