"""The OpenAPI document tells the truth: schemathesis generates requests from it, valid and
invalid, runs every check against the real stack and finds nothing. A client generated from
the document can rely on each status code and body it describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from shared.ops.localstack import LocalStack
from tests.conftest import REPO_ROOT
from tests.integration.conftest import signup_and_signin

CONFIG = REPO_ROOT / "tests" / "schemathesis.toml"
# Enough to reach every operation with valid and invalid data within a couple of minutes; a
# deeper run: `schemathesis --config-file tests/schemathesis.toml run URL -n 200`.
MAX_EXAMPLES = 10
SEED = 20261129


def test_schemathesis_finds_nothing(
    stack: LocalStack, client: httpx.Client, tmp_path: Path
) -> None:
    token = signup_and_signin(client)["Authorization"]
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(CONFIG),
        "run", f"{stack.base_url}/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "2",
        "--request-timeout", "60",
        "--header", f"Authorization: {token}",
        # Signing out everywhere would end the run's own session half way.
        "--exclude-path-regex", "signout-all",
    ]  # fmt: skip
    # Its working directory takes the run's cache and replay files.
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
