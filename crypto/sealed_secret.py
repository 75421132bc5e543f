"""Small secrets sealed at rest under a key kept outside the database (`LYKT`).

Casework stores each person's TOTP secret. A copy of the database alone (a backup, a
seized disk image, an SQL injection that reads rows) must not yield those secrets, or a
stolen password would be enough to sign in. The key lives in a file beside the database
(``totp.key``, owner-only), so the thief needs both. Format in crypto/FORMAT.md.
"""

from __future__ import annotations

import secrets

import nacl.exceptions
import nacl.secret
import nacl.utils

from .errors import DecryptionError, UnsupportedVersion

MAGIC = b"LYKT"
VERSION = 1
SECRET_KEY_BYTES = nacl.secret.SecretBox.KEY_SIZE
NONCE_BYTES = nacl.secret.SecretBox.NONCE_SIZE
_HEADER = len(MAGIC) + 1
# Refuse absurd inputs early; a TOTP secret is 32 characters.
MAX_PLAINTEXT = 1024


def new_secret_key() -> bytes:
    """A fresh random 32-byte key for :func:`seal_secret` (goes into a key file)."""
    return secrets.token_bytes(SECRET_KEY_BYTES)


def seal_secret(key: bytes, plaintext: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` under ``key`` (random nonce each time)."""
    return _seal(key, plaintext, nacl.utils.random(NONCE_BYTES))


def _seal(key: bytes, plaintext: bytes, nonce: bytes) -> bytes:
    # Split out only so that the known-answer vector can fix the nonce; callers never do.
    _check_key(key)
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError("secret too long")
    box = nacl.secret.SecretBox(key)
    return MAGIC + bytes([VERSION]) + bytes(box.encrypt(plaintext, nonce))


def open_secret(key: bytes, sealed: bytes) -> bytes:
    """Reverse :func:`seal_secret`; raise :class:`DecryptionError` on any mismatch."""
    _check_key(key)
    if len(sealed) < _HEADER or sealed[:4] != MAGIC:
        raise DecryptionError("not a sealed secret")
    if sealed[4] != VERSION:
        raise UnsupportedVersion()
    try:
        return bytes(nacl.secret.SecretBox(key).decrypt(sealed[_HEADER:]))
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise DecryptionError("sealed secret does not open") from exc


def _check_key(key: bytes) -> None:
    if len(key) != SECRET_KEY_BYTES:
        raise DecryptionError("secret key must be 32 bytes")
