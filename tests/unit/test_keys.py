"""F-02: one key per purpose, derived from VIGIL_SECRET_KEY."""

from __future__ import annotations

from shared.keys import KeyPurpose, derived_key, hkdf_sha256
from tests.conftest import TEST_ENV


def test_hkdf_matches_rfc_5869_test_case_1() -> None:
    okm = hkdf_sha256(
        bytes.fromhex("0b" * 22),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        length=42,
        salt=bytes.fromhex("000102030405060708090a0b0c"),
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_every_purpose_has_its_own_key_and_none_is_the_secret() -> None:
    keys = {purpose: derived_key(purpose) for purpose in KeyPurpose}
    assert len(set(keys.values())) == len(KeyPurpose)
    secret = TEST_ENV["VIGIL_SECRET_KEY"].encode()
    assert all(len(key) == 32 and secret not in key for key in keys.values())
    assert derived_key(KeyPurpose.JWT_SIGNING) == derived_key(KeyPurpose.JWT_SIGNING)
