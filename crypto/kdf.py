"""Argon2id key derivation with parameters that travel with every result.

Parameters are stored next to whatever they protect (wrapped keys, receipt records), so
the cost can be raised later without breaking old records: the reader always uses the
parameters recorded with the data, never a global default.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from .errors import CryptoError

SALT_BYTES = 16
KEY_BYTES = 32

# Hard bounds on parameters read back from storage. They stop a tampered record from
# making us allocate absurd memory (denial of service) or derive with a trivially weak cost.
_MIN_MEMORY_KIB = 8
_MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB
_MAX_TIME_COST = 16
_MAX_PARALLELISM = 16


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters: iterations, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            raise CryptoError("Argon2 time cost out of range")
        if not _MIN_MEMORY_KIB <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise CryptoError("Argon2 memory cost out of range")
        if not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise CryptoError("Argon2 parallelism out of range")
        if self.memory_kib < 8 * self.parallelism:
            raise CryptoError("Argon2 memory cost too small for its parallelism")

    def to_dict(self) -> dict[str, int]:
        """Return the parameters as a plain dict, for JSON records."""
        return {"t": self.time_cost, "m": self.memory_kib, "p": self.parallelism}

    @classmethod
    def from_dict(cls, raw: dict[str, int]) -> Argon2Params:
        """Rebuild parameters stored with :meth:`to_dict` (validated)."""
        try:
            return cls(int(raw["t"]), int(raw["m"]), int(raw["p"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CryptoError("malformed Argon2 parameters") from exc


# Production cost for receipts and wrapped reviewer keys: 3 passes over 128 MiB.
# GlobaLeaks derives with opslimit 16 over 128 MiB; t*m here is 384 against its 2048,
# about a fifth, which keeps intake sign-in affordable on a small box while a receipt's
# 90 bits of entropy keep offline guessing far beyond reach (see threat-model.md).
PRODUCTION = Argon2Params(time_cost=3, memory_kib=128 * 1024, parallelism=1)

# Cheap parameters for tests and the demo only. Never used by default in production code.
INSECURE_FAST = Argon2Params(time_cost=1, memory_kib=8, parallelism=1)


def new_salt() -> bytes:
    """Return a fresh random salt of :data:`SALT_BYTES` bytes."""
    return secrets.token_bytes(SALT_BYTES)


def derive_key(
    secret: bytes, salt: bytes, params: Argon2Params, length: int = KEY_BYTES
) -> bytes:
    """Derive ``length`` bytes from ``secret`` and ``salt`` with Argon2id at ``params``."""
    if len(salt) < 8:
        raise CryptoError("salt too short")
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=length,
        type=Type.ID,
    )
