"""`vigil analyze` runs the pipeline in-process and prints JSON (no services needed). The
`vigil` console script is the SDK's CLI, which hands `analyze` to worker.cli."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media import BUS, PEDESTRIANS

VIGIL = [str(Path(sys.executable).with_name("vigil"))]
EMBEDDED = [sys.executable, "-m", "worker.cli"]


def _vigil(*args: str, command: list[str] = VIGIL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("command", [VIGIL, EMBEDDED], ids=["vigil", "python-m-worker.cli"])
def test_analyze_image_prints_detections(command: list[str]) -> None:
    done = _vigil("analyze", str(BUS), "--param", "classes=person,bus", command=command)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["kind"] == "image"
    assert result["summary"]["people_count"] >= 3
    assert {d["label"] for d in result["detections"]} <= {"person", "bus"}
    assert result["model"]["format"] == "openvino"


def test_analyze_video_with_params() -> None:
    done = _vigil("analyze", str(PEDESTRIANS), "--param", "max_frames=3", "--param", "frame_skip=2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["frame_index"] for f in result["frames"]] == [0, 2, 4]
    assert result["summary"]["max_people_per_frame"] >= 10


def test_bad_params_and_files_exit_non_zero() -> None:
    bad = _vigil("analyze", str(BUS), "--param", "confidence_threshold=2")
    assert bad.returncode == 2
    assert "confidence_threshold" in bad.stderr
    assert _vigil("analyze", "/no/such/file.jpg").returncode == 2
    not_media = _vigil("analyze", __file__)
    assert not_media.returncode == 1
    assert "not a JPEG" in not_media.stderr
