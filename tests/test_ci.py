"""CI (.ci/run) gates on lint as well as on the tests, and runs both whatever the first gives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# A stand-in for make: records the target and fails the ones named in FAIL_TARGETS.
FAKE_MAKE = """#!/bin/sh
echo "$1" >> "$MAKE_LOG"
case " $FAIL_TARGETS " in *" $1 "*) exit 2;; esac
"""


@pytest.mark.parametrize(
    ("failing", "expect_rc"), [("", 0), ("lint", 1), ("test", 1), ("lint test", 1)]
)
def test_ci_runs_lint_and_tests_and_fails_if_either_fails(
    failing: str, expect_rc: int, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / ".ci" / "run", clone / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    log = tmp_path / "make.log"
    env = os.environ | {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "MAKE_LOG": str(log),
        "FAIL_TARGETS": failing,
    }
    done = subprocess.run(
        [str(clone / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == expect_rc, done.stderr
    assert log.read_text().split() == ["lint", "test"]
