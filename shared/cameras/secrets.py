"""Camera credentials at rest: AES-GCM under VIGIL_CAMERA_SECRETS_KEY, or a key derived from
VIGIL_SECRET_KEY when that is unset. Only the runner that opens the stream decrypts them."""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.keys import KeyPurpose, derived_key
from shared.settings import Settings, get_settings

NONCE_BYTES = 12
# Bound into every ciphertext: a value copied into another column does not decrypt.
ASSOCIATED_DATA = b"vigil/camera-credentials/v1"


class CredentialsKeyError(ValueError):
    """The stored credentials cannot be decrypted with the configured key."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        # Never the password, whoever prints this.
        return f"Credentials(username={self.username!r}, password='***')"


def _key(settings: Settings | None = None) -> bytes:
    configured = (settings or get_settings()).camera_secrets_key
    if configured is None:
        return derived_key(KeyPurpose.CAMERA_CREDENTIALS)
    try:
        key = base64.b64decode(configured.get_secret_value(), validate=True)
    except binascii.Error as exc:
        raise CredentialsKeyError("VIGIL_CAMERA_SECRETS_KEY is not base64") from exc
    if len(key) != 32:
        raise CredentialsKeyError("VIGIL_CAMERA_SECRETS_KEY must decode to 32 bytes")
    return key


def check_key(settings: Settings) -> None:
    """Start-up check: a configured VIGIL_CAMERA_SECRETS_KEY must be 32 bytes of base64."""
    if settings.camera_secrets_key is not None:
        _key(settings)


def encrypt(credentials: Credentials) -> str:
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps({"username": credentials.username, "password": credentials.password})
    sealed = AESGCM(_key()).encrypt(nonce, plain.encode(), ASSOCIATED_DATA)
    return base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> Credentials:
    try:
        raw = base64.b64decode(token, validate=True)
        plain = AESGCM(_key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], ASSOCIATED_DATA)
    except (binascii.Error, InvalidTag, ValueError) as exc:
        raise CredentialsKeyError(
            "the camera's credentials do not decrypt with the configured key "
            "(VIGIL_CAMERA_SECRETS_KEY or VIGIL_SECRET_KEY changed?)"
        ) from exc
    data = json.loads(plain)
    return Credentials(str(data["username"]), str(data["password"]))
