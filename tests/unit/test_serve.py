"""`python -m api.serve`: uvicorn with VIGIL_API_WORKERS processes, one per usable core unless
set, a container's CPU quota included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.serve import command
from shared import settings as settings_module
from shared.settings import Settings, available_cores

SECRET = "k3Jx9-vQ2mZ7pL0wR5tY8uN1bC4dF6gH"


def _workers(argv: list[str]) -> int:
    return int(argv[argv.index("--workers") + 1])


def test_the_setting_wins_and_the_options_pass_through() -> None:
    argv = command(Settings(secret_key=SECRET, api_workers=3), ["--port", "8000"])
    assert argv[1:4] == ["-m", "uvicorn", "api.main:app"]
    assert _workers(argv) == 3
    assert argv[-2:] == ["--port", "8000"]


def test_unset_it_is_one_process_per_usable_core() -> None:
    assert _workers(command(Settings(secret_key=SECRET, api_workers=None), [])) == available_cores()


@pytest.mark.parametrize(
    ("cpu_max", "quota_cores"),
    [("150000 100000\n", 2), ("50000 100000\n", 1), ("max 100000\n", None), ("garbage\n", None)],
)
def test_a_cgroup_cpu_quota_caps_the_cores(
    cpu_max: str, quota_cores: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    monkeypatch.setattr(settings_module, "CGROUP_CPU_MAX", tmp_path / "cpu.max")
    affinity = len(os.sched_getaffinity(0))
    expected = affinity if quota_cores is None else min(affinity, quota_cores)
    assert available_cores() == expected
