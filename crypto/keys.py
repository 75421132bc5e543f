"""Reviewer and escrow key pairs (X25519), key ids, and passphrase-wrapped private keys.

A private key is never stored in the clear: it is wrapped in a SecretBox under a key
derived with Argon2id from the owner's passphrase. Changing a passphrase rewraps the same
private key, so nothing that was sealed to it needs re-encrypting.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from functools import cached_property

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.public
import nacl.secret
import nacl.utils

from .errors import CryptoError, UnsupportedVersion, WrongPassphrase
from .kdf import PRODUCTION, SALT_BYTES, Argon2Params, derive_key, new_salt

KEY_BYTES = 32
KEY_ID_BYTES = 16

_KEY_ID_PERSON = b"lykta-key-id"  # BLAKE2b personalisation: at most 16 bytes


def key_id_of(public_key_bytes: bytes) -> bytes:
    """Return the stable 16-byte id of an X25519 public key (BLAKE2b, personalised)."""
    if len(public_key_bytes) != KEY_BYTES:
        raise CryptoError("public key must be 32 bytes")
    return nacl.hash.blake2b(
        public_key_bytes,
        digest_size=KEY_ID_BYTES,
        person=_KEY_ID_PERSON,
        encoder=nacl.encoding.RawEncoder,
    )


@dataclass(frozen=True)
class PublicKey:
    """An X25519 public key: what intake and the recipient directory hold."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != KEY_BYTES:
            raise CryptoError("public key must be 32 bytes")

    @cached_property
    def key_id(self) -> bytes:
        """The stable key id (16 bytes) used to find this key in envelope headers."""
        return key_id_of(self.raw)

    @property
    def key_id_hex(self) -> str:
        """The key id as lowercase hex, for display and directories."""
        return self.key_id.hex()


class PrivateKey:
    """An X25519 private key, kept in memory only. Never printed, never pickled."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: nacl.public.PrivateKey) -> None:
        self._key = key
        self._public = PublicKey(bytes(key.public_key))

    @classmethod
    def generate(cls) -> PrivateKey:
        """Create a fresh random key pair."""
        return cls(nacl.public.PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> PrivateKey:
        """Rebuild a private key from its 32 raw bytes (e.g. from a session store)."""
        if len(raw) != KEY_BYTES:
            raise CryptoError("private key must be 32 bytes")
        return cls(nacl.public.PrivateKey(raw))

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Derive a private key deterministically from a 32-byte seed."""
        if len(seed) != KEY_BYTES:
            raise CryptoError("seed must be 32 bytes")
        return cls(nacl.public.PrivateKey.from_seed(seed))

    def raw_bytes(self) -> bytes:
        """Return the 32 raw secret bytes. Only for wrapping under another key."""
        return bytes(self._key)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    @property
    def key_id(self) -> bytes:
        """The key id of the matching public key."""
        return self.public_key.key_id

    def _nacl(self) -> nacl.public.PrivateKey:
        return self._key

    def __repr__(self) -> str:
        # Defends against a key ending up in a log or traceback through repr().
        return f"PrivateKey(key_id={self.key_id.hex()})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("private keys cannot be pickled")


# Wrapped key format, version 1 (see crypto/FORMAT.md):
#   "LYKW" | version u8 | t u32 | m u32 | p u8 | salt 16 | key id 16 | SecretBox(nonce+mac+key)
_WRAP_MAGIC = b"LYKW"
_WRAP_VERSION = 1
_WRAP_HEAD = struct.Struct(">4sBIIB")
_WRAP_BOX_BYTES = nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES + KEY_BYTES
WRAPPED_KEY_BYTES = _WRAP_HEAD.size + SALT_BYTES + KEY_ID_BYTES + _WRAP_BOX_BYTES


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise CryptoError("passphrase must be a non-empty string")
    return passphrase.encode("utf-8")


def wrap_private_key(
    key: PrivateKey, passphrase: str, params: Argon2Params = PRODUCTION
) -> bytes:
    """Encrypt ``key`` under ``passphrase`` (Argon2id + SecretBox); return the stored bytes."""
    salt = new_salt()
    kek = derive_key(_passphrase_bytes(passphrase), salt, params)
    boxed = nacl.secret.SecretBox(kek).encrypt(key.raw_bytes())
    head = _WRAP_HEAD.pack(
        _WRAP_MAGIC, _WRAP_VERSION, params.time_cost, params.memory_kib, params.parallelism
    )
    return head + salt + key.key_id + bytes(boxed)


@dataclass(frozen=True)
class WrappedKeyInfo:
    """What can be read from a wrapped key without the passphrase."""

    key_id: bytes
    params: Argon2Params


def inspect_wrapped_key(wrapped: bytes) -> WrappedKeyInfo:
    """Parse a wrapped key's public fields (key id, Argon2 parameters)."""
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise WrongPassphrase("wrapped key has the wrong length")
    magic, version, t, m, p = _WRAP_HEAD.unpack_from(wrapped)
    if magic != _WRAP_MAGIC:
        raise WrongPassphrase("not a wrapped key")
    if version != _WRAP_VERSION:
        raise UnsupportedVersion()
    offset = _WRAP_HEAD.size + SALT_BYTES
    try:
        params = Argon2Params(t, m, p)
    except CryptoError as exc:
        raise WrongPassphrase("wrapped key has invalid parameters") from exc
    return WrappedKeyInfo(key_id=wrapped[offset : offset + KEY_ID_BYTES], params=params)


def unwrap_private_key(wrapped: bytes, passphrase: str) -> PrivateKey:
    """Open a wrapped key with ``passphrase``; raise :class:`WrongPassphrase` otherwise."""
    info = inspect_wrapped_key(wrapped)
    salt = wrapped[_WRAP_HEAD.size : _WRAP_HEAD.size + SALT_BYTES]
    boxed = wrapped[_WRAP_HEAD.size + SALT_BYTES + KEY_ID_BYTES :]
    kek = derive_key(_passphrase_bytes(passphrase), salt, info.params)
    try:
        raw = nacl.secret.SecretBox(kek).decrypt(boxed)
    except nacl.exceptions.CryptoError as exc:
        raise WrongPassphrase() from exc
    key = PrivateKey.from_raw(raw)
    # The stored key id is outside the box; checking it against the opened key defends
    # against a record whose id was swapped to impersonate another reviewer's key.
    if not hmac.compare_digest(key.key_id, info.key_id):
        raise WrongPassphrase("wrapped key does not match its key id")
    return key


def rewrap_private_key(
    wrapped: bytes, old_passphrase: str, new_passphrase: str, params: Argon2Params = PRODUCTION
) -> bytes:
    """Change the passphrase of a wrapped key. The key itself (and every case) is unchanged."""
    return wrap_private_key(unwrap_private_key(wrapped, old_passphrase), new_passphrase, params)


def generate_escrow_key() -> PrivateKey:
    """Create the offline escrow (recovery) key pair held by KOF.

    It is an ordinary X25519 key pair; what makes it the escrow key is that its public
    half is added as a recipient of every envelope and its private half is kept offline,
    wrapped with :func:`wrap_private_key` under a passphrase split among KOF custodians.
    """
    return PrivateKey.generate()
