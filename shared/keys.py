"""Keys derived from VIGIL_SECRET_KEY, one per purpose (HKDF-SHA256, RFC 5869).

Each purpose gets a key of its own, so a key that leaks through one use (a JWT brute-forced
offline, say) says nothing about another's, and no two uses ever sign with the same bytes.
A new use adds a purpose here; the labels are part of the stored data (API key hashes) and
of every issued token, so an existing label is never changed."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from functools import lru_cache

from shared.settings import get_settings

KEY_BYTES = 32
# RFC 5869 lets the salt be public and fixed; it only has to be the same on every process.
SALT = b"vigil-key-derivation"


class KeyPurpose(StrEnum):
    JWT_SIGNING = "vigil/jwt-signing/v1"
    API_KEY_HASHING = "vigil/api-key-hashing/v1"
    CAMERA_CREDENTIALS = "vigil/camera-credentials/v1"
    CAMERA_VIEW_TOKENS = "vigil/camera-view-tokens/v1"


def hkdf_sha256(secret: bytes, info: bytes, length: int = KEY_BYTES, salt: bytes = SALT) -> bytes:
    """HKDF-Extract then HKDF-Expand, as RFC 5869 defines them."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    blocks, block = b"", b""
    counter = 1
    while len(blocks) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        blocks += block
        counter += 1
    return blocks[:length]


@lru_cache(maxsize=16)
def _derive(secret: str, purpose: KeyPurpose) -> bytes:
    return hkdf_sha256(secret.encode(), purpose.value.encode())


def derived_key(purpose: KeyPurpose) -> bytes:
    """The key for `purpose`, derived from the configured secret (cached per secret)."""
    return _derive(get_settings().secret_key.get_secret_value(), purpose)
