"""`make run` fills in what a local stack needs: a secret key and a Flower password made once
and kept private, open sign-up, dev mode and the shared weights; and it keeps Flower apart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shared.ops.devstack import (
    NOT_FOR_FLOWER,
    Configured,
    commands,
    flower_environment,
    local_environment,
    stored_secret,
)
from shared.settings import Settings, check_secret_key

OPERATOR_SETTINGS = (
    "VIGIL_ENV",
    "VIGIL_SECRET_KEY",
    "VIGIL_FLOWER_PASSWORD",
    "VIGIL_SIGNUP",
    "VIGIL_MODEL_DIR",
    "VIGIL_CAMERA_FILE_ROOT",
)


@pytest.fixture
def nothing_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Configured:
    """As on a fresh clone: none of these set, and no .env in the working directory."""
    for name in OPERATOR_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return Configured()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_run_makes_private_secrets_and_later_runs_reuse_them(
    nothing_configured: Configured, tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    models = tmp_path / "shared-models"
    models.mkdir()
    videos = tmp_path / "shared-videos"
    videos.mkdir()
    values, flower_password = local_environment(nothing_configured, var_dir, models, videos)

    secret = values["VIGIL_SECRET_KEY"]
    check_secret_key(secret)
    assert len(secret) >= 64
    assert flower_password == values["VIGIL_FLOWER_PASSWORD"]
    assert flower_password != secret
    assert values["VIGIL_ENV"] == "dev"
    assert values["VIGIL_SIGNUP"] == "open"
    assert values["VIGIL_MODEL_DIR"] == str(models)
    assert values["VIGIL_CAMERA_FILE_ROOT"] == str(videos)
    for name in ("secret_key", "flower_password"):
        assert _mode(var_dir / name) == 0o600, name
    assert _mode(var_dir) == 0o700

    again, shown = local_environment(nothing_configured, var_dir, models, videos)
    assert again == values
    # The password is shown the one time it is made.
    assert shown is None


def test_what_the_operator_set_is_kept(
    nothing_configured: Configured, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = "an-operator-chosen-secret-key-of-enough-length-42"
    monkeypatch.setenv("VIGIL_SECRET_KEY", own)
    (tmp_path / ".env").write_text(
        "VIGIL_FLOWER_PASSWORD=flower-from-dotenv\nVIGIL_SIGNUP=invite\nVIGIL_MODEL_DIR=weights\n"
        "VIGIL_ENV=test\nVIGIL_CAMERA_FILE_ROOT=videos\n"
    )
    values, shown = local_environment(Configured(), tmp_path / "var", tmp_path, tmp_path)
    assert values == {}
    assert shown is None
    assert not (tmp_path / "var").exists()


def test_placeholders_are_replaced_and_missing_weights_left_alone(
    nothing_configured: Configured, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIGIL_SECRET_KEY", "change-me")
    monkeypatch.setenv("VIGIL_FLOWER_PASSWORD", "change-me")
    missing = tmp_path / "no-such-folder"
    values, _ = local_environment(Configured(), tmp_path / "var", missing, missing)
    check_secret_key(values["VIGIL_SECRET_KEY"])
    assert values["VIGIL_FLOWER_PASSWORD"] != "change-me"
    assert "VIGIL_MODEL_DIR" not in values
    assert "VIGIL_CAMERA_FILE_ROOT" not in values


def test_a_stored_secret_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("kept-from-before\n")
    path.chmod(0o644)
    assert stored_secret(path) == ("kept-from-before", False)
    assert _mode(path) == 0o600
    path.write_text("")
    secret, made = stored_secret(path)
    assert made
    check_secret_key(secret)


def test_flower_runs_apart_on_loopback(nothing_configured: Configured, tmp_path: Path) -> None:
    values, _ = local_environment(nothing_configured, tmp_path / "var", tmp_path / "none")
    settings = Settings(
        _env_file=None,
        secret_key=values["VIGIL_SECRET_KEY"],
        flower_password=values["VIGIL_FLOWER_PASSWORD"],
    )
    env = {"PATH": "/usr/bin", "VIGIL_REDIS_URL": "redis://127.0.0.1:6379/7"} | {
        "VIGIL_DATABASE_URL": "postgres://vigil:db-password@127.0.0.1/vigil",
        **values,
    }
    flower_env = flower_environment(env, settings)
    assert not set(NOT_FOR_FLOWER) & set(flower_env)
    assert values["VIGIL_SECRET_KEY"] not in str(flower_env.values())
    assert flower_env["FLOWER_BASIC_AUTH"] == f"admin:{values['VIGIL_FLOWER_PASSWORD']}"
    assert flower_env["VIGIL_REDIS_URL"] == env["VIGIL_REDIS_URL"]

    started = commands(settings)
    assert started["flower"][3:6] == ["-A", "worker.flower_app", "flower"]
    assert "--address=127.0.0.1" in started["flower"]
    assert "--no-proxy-headers" in started["api"]
    assert "--proxy-headers" not in started["api"]
