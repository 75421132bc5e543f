"""Account password hashing (Argon2id via argon2-cffi's PasswordHasher).

The encoded hash records its own parameters, so raising the cost later only needs
:func:`needs_rehash` at the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .kdf import PRODUCTION, Argon2Params


def _hasher(params: Argon2Params) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
    )


def hash_password(password: str, params: Argon2Params = PRODUCTION) -> str:
    """Return an encoded Argon2id hash of ``password``."""
    return _hasher(params).hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Return True if ``password`` matches ``encoded``; never raises on a mismatch."""
    try:
        return _hasher(PRODUCTION).verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str, params: Argon2Params = PRODUCTION) -> bool:
    """True if ``encoded`` was made with other parameters than ``params``."""
    return _hasher(params).check_needs_rehash(encoded)
