"""Keeping a private key across requests without the server alone being able to use it.

At sign-in the unwrapped key is locked in a SecretBox under a fresh random session
secret. The locked blob goes to the server-side session store; the secret goes only
into the user's cookie. A stolen session store alone, or a stolen cookie alone,
decrypts nothing; signing out deletes the blob and the secret becomes useless.
"""

from __future__ import annotations

import secrets

import nacl.exceptions
import nacl.secret

from .errors import CryptoError, DecryptionError
from .keys import PrivateKey

SESSION_SECRET_BYTES = nacl.secret.SecretBox.KEY_SIZE


def new_session_secret() -> bytes:
    """A fresh random 32-byte secret for one session (goes into the cookie only)."""
    return secrets.token_bytes(SESSION_SECRET_BYTES)


def lock_key(key: PrivateKey, session_secret: bytes) -> bytes:
    """Encrypt ``key`` under ``session_secret`` for the server-side session store."""
    if len(session_secret) != SESSION_SECRET_BYTES:
        raise CryptoError("session secret must be 32 bytes")
    return bytes(nacl.secret.SecretBox(session_secret).encrypt(key.raw_bytes()))


def unlock_key(locked: bytes, session_secret: bytes) -> PrivateKey:
    """Reverse :func:`lock_key`; raise :class:`DecryptionError` on any mismatch."""
    if len(session_secret) != SESSION_SECRET_BYTES:
        raise DecryptionError("session secret must be 32 bytes")
    try:
        raw = nacl.secret.SecretBox(session_secret).decrypt(locked)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise DecryptionError("session key does not open") from exc
    return PrivateKey.from_raw(raw)
