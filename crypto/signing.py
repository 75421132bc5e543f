"""Signed sync messages between casework and intake (Ed25519).

Casework signs every request and intake every response; each side pins the other's
verify key. A message carries its purpose, a timestamp, a random nonce and (for a
response) the nonce of the request it answers, so that a captured message cannot be
replayed, re-used for another purpose, or passed off as the answer to another request.

Layout (big-endian, see crypto/FORMAT.md)::

    "LYKS" | version u8 | purpose length u8 | purpose | timestamp u64 | nonce 16
    | in-reply-to length u8 (0 or 16) | in-reply-to | body length u32 | body | signature 64
"""

from __future__ import annotations

import hmac
import secrets
import struct
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import nacl.exceptions
import nacl.signing

from .errors import (
    CryptoError,
    ForgedMessage,
    MalformedMessage,
    ReplayedMessage,
    StaleMessage,
    WrongPurpose,
)
from .keys import PrivateKey, PublicKey

NONCE_BYTES = 16
SIGNATURE_BYTES = 64
DEFAULT_MAX_SKEW = 300  # seconds either way
DEFAULT_MAX_BODY = 64 * 1024 * 1024

_MAGIC = b"LYKS"
_VERSION = 1
_HEAD = struct.Struct(">4sBB")
_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class VerifyKey:
    """A pinned Ed25519 verify key."""

    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise CryptoError("verify key must be 32 bytes")
        self._key = nacl.signing.VerifyKey(raw)

    @property
    def raw(self) -> bytes:
        """The 32 public bytes, for config files and directories."""
        return bytes(self._key)

    def box_public_key(self) -> PublicKey:
        """The X25519 public key that belongs to this Ed25519 key (for encrypted bundles)."""
        return PublicKey(bytes(self._key.to_curve25519_public_key()))

    def verify(self, signed: bytes, signature: bytes) -> None:
        """Raise :class:`ForgedMessage` unless ``signature`` is valid for ``signed``."""
        try:
            self._key.verify(signed, signature)
        except (nacl.exceptions.BadSignatureError, ValueError) as exc:
            raise ForgedMessage() from exc


class SigningKey:
    """An Ed25519 signing key (casework's or intake's sync identity)."""

    __slots__ = ("_key",)

    def __init__(self, key: nacl.signing.SigningKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random signing key."""
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Rebuild a signing key from its 32-byte seed."""
        if len(seed) != 32:
            raise CryptoError("signing seed must be 32 bytes")
        return cls(nacl.signing.SigningKey(seed))

    def seed(self) -> bytes:
        """The 32 secret bytes, for storing the key (wrapped or in a protected file)."""
        return bytes(self._key)

    @property
    def verify_key(self) -> VerifyKey:
        """The public verify key that the other side pins."""
        return VerifyKey(bytes(self._key.verify_key))

    def box_private_key(self) -> PrivateKey:
        """The X25519 private key that belongs to this Ed25519 key (opens bundles to us)."""
        return PrivateKey(self._key.to_curve25519_private_key())

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte detached signature of ``data``."""
        return bytes(self._key.sign(data).signature)

    def __repr__(self) -> str:
        return "SigningKey(<secret>)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("signing keys cannot be pickled")


@dataclass(frozen=True)
class SyncMessage:
    """A verified sync message."""

    purpose: str
    timestamp: int
    nonce: bytes
    in_reply_to: bytes
    body: bytes


class ReplayCache(Protocol):
    """Remembers nonces until they expire. Must be shared by every verifying process."""

    def remember(self, nonce: bytes, expires_at: float) -> bool:
        """Store ``nonce``; return False if it was already there and unexpired."""
        ...


class MemoryReplayCache:
    """An in-process :class:`ReplayCache` for the embedded default and tests."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: dict[bytes, float] = {}
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def remember(self, nonce: bytes, expires_at: float) -> bool:
        """Store ``nonce``; return False if it was already there and unexpired."""
        now = time.time()
        with self._lock:
            if len(self._seen) >= self._max_entries:
                self._seen = {n: t for n, t in self._seen.items() if t > now}
                if len(self._seen) >= self._max_entries:
                    # Refuse rather than forget: forgetting would reopen a replay window.
                    raise CryptoError("replay cache is full")
            seen_until = self._seen.get(nonce)
            if seen_until is not None and seen_until > now:
                return False
            self._seen[nonce] = expires_at
            return True


def _encode_purpose(purpose: str) -> bytes:
    raw = purpose.encode("utf-8")
    if not 0 < len(raw) <= 255:
        raise CryptoError("purpose must be 1 to 255 bytes")
    return raw


def sign_message(
    key: SigningKey,
    *,
    purpose: str,
    body: bytes,
    in_reply_to: bytes = b"",
    timestamp: int | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Sign ``body`` for ``purpose``; return the message bytes to send.

    ``timestamp`` and ``nonce`` default to now and a fresh random value; they are
    parameters only so that test vectors can be reproduced.
    """
    nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_BYTES)
    if len(nonce) != NONCE_BYTES or len(in_reply_to) not in (0, NONCE_BYTES):
        raise CryptoError("nonces must be 16 bytes")
    stamp = int(time.time()) if timestamp is None else timestamp
    raw_purpose = _encode_purpose(purpose)
    signed = b"".join(
        [
            _HEAD.pack(_MAGIC, _VERSION, len(raw_purpose)),
            raw_purpose,
            _U64.pack(stamp),
            nonce,
            _U8.pack(len(in_reply_to)),
            in_reply_to,
            _U32.pack(len(body)),
            body,
        ]
    )
    return signed + key.sign(signed)


def _parse(data: bytes, max_body: int) -> tuple[SyncMessage, bytes, bytes]:
    view = memoryview(data)
    pos = 0

    def take(count: int) -> bytes:
        """Consume ``count`` bytes or refuse the message as malformed."""
        nonlocal pos
        if count < 0 or pos + count > len(view):
            raise MalformedMessage()
        chunk = bytes(view[pos : pos + count])
        pos += count
        return chunk

    magic, version, purpose_len = _HEAD.unpack(take(_HEAD.size))
    if magic != _MAGIC:
        raise MalformedMessage()
    if version != _VERSION:
        raise MalformedMessage("unsupported sync message version")
    try:
        purpose = take(purpose_len).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage() from exc
    (timestamp,) = _U64.unpack(take(_U64.size))
    nonce = take(NONCE_BYTES)
    (reply_len,) = _U8.unpack(take(_U8.size))
    if reply_len not in (0, NONCE_BYTES):
        raise MalformedMessage()
    in_reply_to = take(reply_len)
    (body_len,) = _U32.unpack(take(_U32.size))
    if body_len > max_body:
        raise MalformedMessage("sync message body is too large")
    body = take(body_len)
    signed_len = pos
    signature = take(SIGNATURE_BYTES)
    if pos != len(view):
        raise MalformedMessage()
    message = SyncMessage(purpose, timestamp, nonce, in_reply_to, body)
    return message, bytes(view[:signed_len]), signature


def verify_message(
    key: VerifyKey,
    data: bytes,
    *,
    purpose: str,
    replay_cache: ReplayCache,
    in_reply_to: bytes | None = None,
    now: float | None = None,
    max_skew: int = DEFAULT_MAX_SKEW,
    max_body: int = DEFAULT_MAX_BODY,
) -> SyncMessage:
    """Verify a sync message from the pinned ``key`` and return it.

    Checks, in this order: structure, signature, purpose, the request it answers (when
    ``in_reply_to`` is given), clock skew, and finally the replay cache. The nonce is
    only remembered once everything else passed, so forged messages cannot fill the
    cache and a message refused as stale can't poison it.
    """
    if len(data) > max_body + 1024:
        raise MalformedMessage("sync message is too large")
    message, signed, signature = _parse(data, max_body)
    key.verify(signed, signature)
    if message.purpose != purpose:
        raise WrongPurpose()
    if in_reply_to is not None and not hmac.compare_digest(message.in_reply_to, in_reply_to):
        raise WrongPurpose("sync response answers another request")
    current = time.time() if now is None else now
    if abs(current - message.timestamp) > max_skew:
        raise StaleMessage()
    if not replay_cache.remember(message.nonce, message.timestamp + max_skew):
        raise ReplayedMessage()
    return message


def sign_document(
    key: SigningKey, *, purpose: str, body: bytes, timestamp: int | None = None
) -> bytes:
    """Sign a long-lived document (e.g. the recipient directory) in the sync format.

    Unlike a sync message, a document is not refused for its age here: the reader
    decides what "outdated" means (an expiry and a serial number inside the body).
    """
    return sign_message(key, purpose=purpose, body=body, timestamp=timestamp)


def verify_document(
    key: VerifyKey, data: bytes, *, purpose: str, max_body: int = DEFAULT_MAX_BODY
) -> SyncMessage:
    """Verify a document made by :func:`sign_document` with the pinned ``key``."""
    if len(data) > max_body + 1024:
        raise MalformedMessage("document is too large")
    message, signed, signature = _parse(data, max_body)
    key.verify(signed, signature)
    if message.purpose != purpose:
        raise WrongPurpose()
    return message
