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


REAL_SECRET = "k3Jx9-vQ2mZ7pL0wR5tY8uN1bC4dF6gH"


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
@pytest.mark.parametrize(
    "secret",
    [
        "change-me",
        "CHANGE-ME",
        "",
        "password",
        # Long enough, but copied from documentation or not random.
        "change-me-to-something-long-enough-0123456789",
        "a" * 40,
        # Random, but too short for an HS256 key.
        "k3Jx9-vQ2mZ7pL0wR5tY8uN1bC4",
    ],
)
def test_placeholder_and_weak_secret_keys_are_refused_in_every_environment(
    env: str, secret: str
) -> None:
    """F-02: no environment signs tokens with a key anyone can guess."""
    with pytest.raises(ValidationError, match="VIGIL_SECRET_KEY"):
        Settings(env=env, secret_key=secret, flower_password="a-real-one")


def test_an_unset_secret_key_and_env_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a user runs falls back to a placeholder: the environment defaults to prod."""
    monkeypatch.delenv("VIGIL_SECRET_KEY")
    monkeypatch.delenv("VIGIL_ENV")
    with pytest.raises(ValidationError, match="VIGIL_SECRET_KEY must be set"):
        Settings(_env_file=None)
    monkeypatch.setenv("VIGIL_SECRET_KEY", REAL_SECRET)
    assert Settings(_env_file=None).env == "prod"


def test_the_services_do_not_need_flowers_password() -> None:
    """Only Flower checks it (the compose file requires one; `make run` generates one), so the
    API and the workers start whatever it is."""
    for password in ("", "change-me"):
        assert Settings(env="prod", secret_key=REAL_SECRET, flower_password=password).env == "prod"


@pytest.mark.parametrize("entry", ["*", "0.0.0.0/0", "::/0", "not-an-address", "10.0.0.0/33"])
def test_trusted_proxies_that_would_trust_anyone_or_are_not_addresses_are_refused(
    entry: str,
) -> None:
    """F-08: `*` would let every client choose the address it is counted and audited under."""
    with pytest.raises(ValidationError, match="VIGIL_TRUSTED_PROXIES"):
        Settings(trusted_proxies=[entry])


def test_trusted_proxies_take_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_TRUSTED_PROXIES", '["10.0.0.5", "fd00::/8", "172.16.0.0/12"]')
    assert Settings().trusted_proxies == ["10.0.0.5", "fd00::/8", "172.16.0.0/12"]


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
