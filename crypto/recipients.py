"""The mutable recipient header of an envelope.

The header lists, for each recipient, its key id and the envelope's content key sealed
to it (``crypto_box_seal``). It is kept apart from the immutable body so that assigning
a case to a new person adds one entry without touching the (possibly huge) body, and so
that a seized store learns no more than which keys an envelope was addressed to.

Each sealed entry holds ``K || envelope id``: an entry copied from another envelope's
header opens to the wrong id and is rejected, instead of silently yielding a key.
"""

from __future__ import annotations

import hmac
import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from .errors import CryptoError, TamperedEnvelope, UnknownRecipient, UnsupportedVersion
from .keys import KEY_ID_BYTES, PrivateKey, PublicKey

CONTENT_KEY_BYTES = 32
ENVELOPE_ID_BYTES = 16
MAX_RECIPIENTS = 1024

_MAGIC = b"LYKH"
_VERSION = 1
_HEAD = struct.Struct(">4sB16sH")
_SEALED_BYTES = nacl.bindings.crypto_box_SEALBYTES + CONTENT_KEY_BYTES + ENVELOPE_ID_BYTES
_ENTRY_BYTES = KEY_ID_BYTES + _SEALED_BYTES


class ContentKey:
    """An envelope's content key K, opened for one envelope. Lives in memory only."""

    __slots__ = ("_envelope_id", "_key")

    def __init__(self, envelope_id: bytes, key: bytes) -> None:
        if len(envelope_id) != ENVELOPE_ID_BYTES or len(key) != CONTENT_KEY_BYTES:
            raise CryptoError("malformed content key")
        self._envelope_id = envelope_id
        self._key = key

    @classmethod
    def generate(cls, envelope_id: bytes) -> ContentKey:
        """A fresh random content key for ``envelope_id``."""
        return cls(envelope_id, secrets.token_bytes(CONTENT_KEY_BYTES))

    @property
    def envelope_id(self) -> bytes:
        """The envelope this key belongs to."""
        return self._envelope_id

    def raw_bytes(self) -> bytes:
        """The 32 secret bytes; only the envelope body code uses them."""
        return self._key

    def __repr__(self) -> str:
        return f"ContentKey(envelope_id={self._envelope_id.hex()})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("content keys cannot be pickled")


@dataclass(frozen=True)
class RecipientEntry:
    """One recipient slot in a header: the key id and the sealed content key."""

    key_id: bytes
    sealed: bytes


@dataclass(frozen=True)
class RecipientHeader:
    """A parsed recipient header."""

    envelope_id: bytes
    entries: tuple[RecipientEntry, ...]

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The key ids of all recipients, in header order."""
        return tuple(entry.key_id for entry in self.entries)

    def to_bytes(self) -> bytes:
        """Serialise the header (format in crypto/FORMAT.md)."""
        parts = [_HEAD.pack(_MAGIC, _VERSION, self.envelope_id, len(self.entries))]
        parts.extend(entry.key_id + entry.sealed for entry in self.entries)
        return b"".join(parts)


def parse_header(data: bytes) -> RecipientHeader:
    """Parse and structurally validate a serialised recipient header."""
    if len(data) < _HEAD.size:
        raise TamperedEnvelope("recipient header is truncated")
    magic, version, envelope_id, count = _HEAD.unpack_from(data)
    if magic != _MAGIC:
        raise TamperedEnvelope("not a recipient header")
    if version != _VERSION:
        raise UnsupportedVersion()
    if count == 0 or count > MAX_RECIPIENTS:
        raise TamperedEnvelope("recipient header has an invalid recipient count")
    if len(data) != _HEAD.size + count * _ENTRY_BYTES:
        raise TamperedEnvelope("recipient header has the wrong length")
    entries = []
    for index in range(count):
        start = _HEAD.size + index * _ENTRY_BYTES
        entries.append(
            RecipientEntry(
                key_id=data[start : start + KEY_ID_BYTES],
                sealed=data[start + KEY_ID_BYTES : start + _ENTRY_BYTES],
            )
        )
    return RecipientHeader(envelope_id=envelope_id, entries=tuple(entries))


def _seal_entry(content_key: ContentKey, recipient: PublicKey) -> RecipientEntry:
    sealed = nacl.bindings.crypto_box_seal(
        content_key.raw_bytes() + content_key.envelope_id, recipient.raw
    )
    return RecipientEntry(key_id=recipient.key_id, sealed=sealed)


def build_header(content_key: ContentKey, recipients: Iterable[PublicKey]) -> bytes:
    """Seal ``content_key`` to every recipient (duplicates dropped) and return the header."""
    entries: list[RecipientEntry] = []
    seen: set[bytes] = set()
    for recipient in recipients:
        if recipient.key_id in seen:
            continue
        seen.add(recipient.key_id)
        entries.append(_seal_entry(content_key, recipient))
    if not entries:
        raise CryptoError("an envelope needs at least one recipient")
    if len(entries) > MAX_RECIPIENTS:
        raise CryptoError("too many recipients")
    return RecipientHeader(content_key.envelope_id, tuple(entries)).to_bytes()


def open_content_key(header: bytes, key: PrivateKey) -> ContentKey:
    """Open the content key sealed to ``key`` in ``header``.

    Raises :class:`UnknownRecipient` when ``key`` has no entry and
    :class:`TamperedEnvelope` when its entry does not open or names another envelope.
    A corrupted entry only affects its own recipient; others still open theirs.
    """
    parsed = parse_header(header)
    key_id = key.key_id
    candidates = [e for e in parsed.entries if hmac.compare_digest(e.key_id, key_id)]
    if not candidates:
        raise UnknownRecipient()
    public = key.public_key.raw
    secret = key.raw_bytes()
    for entry in candidates:
        try:
            opened = nacl.bindings.crypto_box_seal_open(entry.sealed, public, secret)
        except nacl.exceptions.CryptoError:
            continue
        k, envelope_id = opened[:CONTENT_KEY_BYTES], opened[CONTENT_KEY_BYTES:]
        if hmac.compare_digest(envelope_id, parsed.envelope_id):
            return ContentKey(envelope_id, k)
    raise TamperedEnvelope("recipient entry does not open for this key")


def add_recipient(header: bytes, content_key: ContentKey, recipient: PublicKey) -> bytes:
    """Return ``header`` with ``recipient`` added; the body is not touched.

    Adding a key that is already present returns the header unchanged.
    """
    parsed = parse_header(header)
    if not hmac.compare_digest(parsed.envelope_id, content_key.envelope_id):
        raise CryptoError("content key belongs to another envelope")
    if recipient.key_id in parsed.key_ids:
        return header
    if len(parsed.entries) >= MAX_RECIPIENTS:
        raise CryptoError("too many recipients")
    entries = (*parsed.entries, _seal_entry(content_key, recipient))
    return RecipientHeader(parsed.envelope_id, entries).to_bytes()


def remove_recipient(header: bytes, key_id: bytes) -> bytes:
    """Return ``header`` without ``key_id``'s entry.

    This only stops future access through this header: the removed person may have
    kept the content key. Use :func:`crypto.envelope.rekey` to truly revoke.
    """
    parsed = parse_header(header)
    entries = tuple(e for e in parsed.entries if e.key_id != key_id)
    if len(entries) == len(parsed.entries):
        raise UnknownRecipient()
    if not entries:
        raise CryptoError("an envelope needs at least one recipient")
    return RecipientHeader(parsed.envelope_id, entries).to_bytes()


def header_key_ids(header: bytes) -> tuple[bytes, ...]:
    """The key ids an envelope is addressed to (readable without any key)."""
    return parse_header(header).key_ids


def header_envelope_id(header: bytes) -> bytes:
    """The envelope id a header belongs to."""
    return parse_header(header).envelope_id


def readdress(header: bytes, key: PrivateKey, recipients: Iterable[PublicKey]) -> bytes:
    """Return a new header for the same body, addressed to ``recipients`` instead.

    ``key`` must be a current recipient; it is not kept unless listed. Used to move an
    upload from the per-request spool key, under which it was encrypted as it arrived,
    to its real readers once they are known, without touching the body.
    """
    return build_header(open_content_key(header, key), recipients)
