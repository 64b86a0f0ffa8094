from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from pydantic import ValidationError

from shared.configured import (
    PROCESS_CHECKS,
    check_api_settings,
    check_camera_runner_settings,
    check_webhook_sender_settings,
    check_worker_settings,
    warmup_detectors,
)
from shared.params import DETECTOR_KINDS
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
    assert warmup_detectors(Settings()) == list(DETECTOR_KINDS)
    monkeypatch.setenv("VIGIL_WARMUP_DETECTORS", '["objects", "faces"]')
    assert warmup_detectors(Settings()) == ["objects", "faces"]
    monkeypatch.setenv("VIGIL_WARMUP_DETECTORS", "[]")
    assert warmup_detectors(Settings()) == []
    # The settings cannot judge detector names (they import nothing of the domain); the
    # worker refuses them as it starts.
    unknown = Settings(warmup_detectors=["objects", "xray"])
    with pytest.raises(ValueError, match="VIGIL_WARMUP_DETECTORS names unknown detectors: xray"):
        check_worker_settings(unknown)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"plate_formats": {"uk": ["[A-Z"]}},
            "VIGIL_PLATE_FORMATS: plate format for region 'uk' is not a regex",
        ),
        (
            {"plate_region": "atlantis"},
            "VIGIL_PLATE_REGION 'atlantis' is not a region of VIGIL_PLATE_FORMATS (uk, in, eu, us)",
        ),
        (
            {"plate_formats": {"xx": ["[A-Z]{3}"]}, "plate_region": "uk"},
            "VIGIL_PLATE_REGION 'uk' is not a region of VIGIL_PLATE_FORMATS (xx)",
        ),
    ],
)
def test_the_processes_that_read_plates_refuse_bad_plate_settings(
    setting: dict[str, Any], message: str
) -> None:
    settings = Settings(**setting)
    for check in (check_api_settings, check_worker_settings):
        with pytest.raises(ValueError, match=re.escape(message)):
            check(settings)
    check_webhook_sender_settings(settings)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"webhook_allowed_networks": ["127.0.0.0/8"]}, "names no port"),
        ({"webhook_allowed_networks": ["10.0.0.1/8:443"]}, "not a valid CIDR"),
        ({"webhook_public_ports": "443,https"}, "VIGIL_WEBHOOK_PUBLIC_PORTS"),
    ],
)
def test_the_processes_that_vet_webhook_urls_refuse_bad_allow_lists(
    setting: dict[str, Any], message: str
) -> None:
    settings = Settings(**setting)
    for check in (check_api_settings, check_webhook_sender_settings):
        with pytest.raises(ValueError, match=message):
            check(settings)
    check_worker_settings(settings)


def test_good_domain_settings_pass_every_start_up_check() -> None:
    settings = Settings(
        plate_formats={"xx": ["[A-Z]{3}[0-9]{3}"]},
        plate_region="xx",
        warmup_detectors=["plates"],
        webhook_allowed_networks=["127.0.0.0/8:8080", "hooks.internal:443"],
        webhook_public_ports="443",
    )
    for check in PROCESS_CHECKS:
        check(settings)


@pytest.mark.parametrize("entry", ["not-a-network", "10.0.0.1/8", "10.0.0.0/33", "*"])
def test_camera_allowed_networks_that_are_not_networks_are_refused(entry: str) -> None:
    with pytest.raises(ValidationError, match="VIGIL_CAMERA_ALLOWED_NETWORKS"):
        Settings(camera_allowed_networks=["127.0.0.0/8", entry])


def test_camera_allowed_networks_take_addresses_and_networks() -> None:
    entries = ["127.0.0.0/8", "169.254.10.0/24", "::1", "fe80::/10"]
    assert Settings(camera_allowed_networks=entries).camera_allowed_networks == entries


@pytest.mark.parametrize("key", ["not base64!", "c2hvcnQ="])
def test_the_processes_that_hold_camera_credentials_refuse_a_bad_secrets_key(key: str) -> None:
    settings = Settings(camera_secrets_key=key)
    for check in (check_api_settings, check_camera_runner_settings):
        with pytest.raises(ValueError, match="VIGIL_CAMERA_SECRETS_KEY"):
            check(settings)
    check_worker_settings(settings)
    good = Settings(camera_secrets_key=base64.b64encode(bytes(range(32))).decode())
    check_api_settings(good)
