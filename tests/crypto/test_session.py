"""Session-locked keys: the store alone and the cookie alone decrypt nothing."""

from __future__ import annotations

import pytest

import crypto
from crypto import PrivateKey


def test_locked_key_opens_with_its_session_secret(reviewers: list[PrivateKey]) -> None:
    secret = crypto.new_session_secret()
    locked = crypto.lock_key(reviewers[0], secret)
    assert reviewers[0].raw_bytes() not in locked
    assert crypto.unlock_key(locked, secret).key_id == reviewers[0].key_id


def test_store_without_cookie_and_cookie_without_store_decrypt_nothing(
    reviewers: list[PrivateKey],
) -> None:
    secret = crypto.new_session_secret()
    locked = crypto.lock_key(reviewers[0], secret)
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(locked, crypto.new_session_secret())
    other = crypto.lock_key(reviewers[1], crypto.new_session_secret())
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(other, secret)


@pytest.mark.parametrize("secret", [b"", b"x" * 31, b"x" * 33])
def test_malformed_secrets_are_refused(reviewers: list[PrivateKey], secret: bytes) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.lock_key(reviewers[0], secret)
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(b"x" * 72, secret)


def test_tampered_locked_key_is_refused(reviewers: list[PrivateKey]) -> None:
    secret = crypto.new_session_secret()
    locked = bytearray(crypto.lock_key(reviewers[0], secret))
    locked[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(bytes(locked), secret)
