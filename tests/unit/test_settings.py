from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from tests.conftest import REPO_ROOT


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=")[0].removeprefix("VIGIL_").lower()
        for line in (REPO_ROOT / ".env.example").read_text().splitlines()
        if line.startswith("VIGIL_")
    }
    assert documented == set(Settings.model_fields)


def test_placeholder_secrets_are_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="VIGIL_SECRET_KEY"):
        Settings(env="prod", secret_key="change-me", flower_password="a-real-one")
    with pytest.raises(ValidationError, match="VIGIL_FLOWER_PASSWORD"):
        Settings(env="prod", secret_key="a-real-one", flower_password="change-me")
    assert Settings(env="dev", secret_key="change-me").env == "dev"


def test_visibility_timeout_must_outlast_the_hard_limit() -> None:
    with pytest.raises(ValidationError, match="VISIBILITY_TIMEOUT"):
        Settings(video_time_limit_s=4000, broker_visibility_timeout_s=3600)


def test_warmup_detectors_are_known_names_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_WARMUP_DETECTORS", '["objects", "faces"]')
    assert Settings().warmup_detectors == ["objects", "faces"]
    monkeypatch.setenv("VIGIL_WARMUP_DETECTORS", "[]")
    assert Settings().warmup_detectors == []
    with pytest.raises(
        ValidationError, match="VIGIL_WARMUP_DETECTORS names unknown detectors: xray"
    ):
        Settings(warmup_detectors=["objects", "xray"])
