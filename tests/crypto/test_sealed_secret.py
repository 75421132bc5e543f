"""Secrets sealed at rest (`LYKT`): the database alone opens nothing."""

from __future__ import annotations

import pytest

import crypto
from crypto.sealed_secret import _seal

TOTP_SECRET = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_a_sealed_secret_opens_only_with_its_key() -> None:
    key = crypto.new_secret_key()
    sealed = crypto.seal_secret(key, TOTP_SECRET)
    assert TOTP_SECRET not in sealed
    assert crypto.open_secret(key, sealed) == TOTP_SECRET
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(crypto.new_secret_key(), sealed)


def test_each_sealing_uses_a_fresh_nonce() -> None:
    key = crypto.new_secret_key()
    assert crypto.seal_secret(key, TOTP_SECRET) != crypto.seal_secret(key, TOTP_SECRET)


@pytest.mark.parametrize("index", [0, 4, 5, 30, -1])
def test_a_tampered_sealed_secret_is_refused(index: int) -> None:
    key = crypto.new_secret_key()
    sealed = bytearray(crypto.seal_secret(key, TOTP_SECRET))
    sealed[index] ^= 1
    with pytest.raises(crypto.CryptoError):
        crypto.open_secret(key, bytes(sealed))


@pytest.mark.parametrize("key", [b"", b"k" * 31, b"k" * 33])
def test_malformed_keys_are_refused(key: bytes) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.seal_secret(key, TOTP_SECRET)
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(key, b"LYKT\x01" + b"x" * 60)


def test_truncated_input_is_refused() -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(crypto.new_secret_key(), b"LYK")


def test_known_answer_vector_pins_the_format() -> None:
    # FORMAT.md "Sealed secret": magic, version, then crypto_secretbox as nonce ‖ MAC ‖ ct.
    key, nonce = bytes(range(32)), bytes(range(100, 124))
    expected = bytes.fromhex(
        "4c594b54016465666768696a6b6c6d6e6f707172737475767778797a7b243ed9c5729c5db56d97"
        "28a8c8ad9a8248fbca9e63858ab9f5b573df04d4fb4874e86bf0bd950f4be34412df39db91d8")
    assert _seal(key, TOTP_SECRET, nonce) == expected
    assert crypto.open_secret(key, expected) == TOTP_SECRET


def test_error_messages_carry_no_secret() -> None:
    key = crypto.new_secret_key()
    sealed = crypto.seal_secret(key, TOTP_SECRET)
    with pytest.raises(crypto.DecryptionError) as caught:
        crypto.open_secret(crypto.new_secret_key(), sealed)
    assert TOTP_SECRET.decode() not in str(caught.value) and key.hex() not in str(caught.value)
