"""Envelopes: one content key per report, file or message (the public API).

An envelope is an immutable **body** (:mod:`crypto.body`: padded, chunked, authenticated
secretstream) and a mutable **recipient header** (:mod:`crypto.recipients`: the content
key sealed to each recipient). Byte layouts are in crypto/FORMAT.md.

Streaming decryption writes plaintext to ``out`` before the end of the stream has been
authenticated. Callers must treat ``out`` as garbage if an exception is raised (the
``*_bytes`` helpers do this for you).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .body import (
    DEFAULT_CHUNK_SIZE,
    FORMAT_VERSION,
    BodyWriter,
    OpenedEnvelope,
    Preamble,
    body_plaintext,
    decrypt_body,
    encode_routing,
    encrypt_body,
    read_preamble,
)
from .errors import CryptoError
from .keys import PrivateKey, PublicKey
from .recipients import (
    ENVELOPE_ID_BYTES,
    ContentKey,
    build_header,
    header_envelope_id,
    open_content_key,
)
from .streams import IteratorReader, Readable, SeekableReadable, Writable, read_full

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FORMAT_VERSION",
    "Envelope",
    "EnvelopeWriter",
    "OpenedEnvelope",
    "Preamble",
    "SealedEnvelope",
    "decrypt_body",
    "encode_routing",
    "encrypt_body",
    "new_envelope_id",
    "open_bytes",
    "open_stream",
    "read_preamble",
    "rekey",
    "seal_bytes",
    "seal_stream",
]


@dataclass(frozen=True)
class SealedEnvelope:
    """What sealing returns: the header to store, and facts about the body written."""

    envelope_id: bytes
    header: bytes
    body_size: int
    plaintext_size: int


def new_envelope_id() -> bytes:
    """A fresh random 16-byte envelope id (random, never sequential)."""
    return secrets.token_bytes(ENVELOPE_ID_BYTES)


class EnvelopeWriter:
    """Seal an envelope whose plaintext is pushed in with ``write()`` (e.g. an upload).

    The content key and the header exist from the start; the body is written to ``out``
    chunk by chunk, and :meth:`close` finishes it. Plaintext never reaches ``out``.
    """

    def __init__(
        self,
        out: Writable,
        recipients: Iterable[PublicKey],
        *,
        routing: Mapping[str, str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        envelope_id: bytes | None = None,
    ) -> None:
        envelope_id = envelope_id if envelope_id is not None else new_envelope_id()
        if len(envelope_id) != ENVELOPE_ID_BYTES:
            raise CryptoError("envelope id must be 16 bytes")
        content_key = ContentKey.generate(envelope_id)
        self.envelope_id = envelope_id
        self.header = build_header(content_key, recipients)
        self._body = BodyWriter(out, content_key, routing=routing, chunk_size=chunk_size)

    @property
    def plaintext_size(self) -> int:
        """Plaintext bytes accepted so far."""
        return self._body.plaintext_size

    def write(self, data: bytes, /) -> int:
        """Encrypt more plaintext."""
        return self._body.write(data)

    def close(self) -> SealedEnvelope:
        """Finish the body and return the header and sizes."""
        length, body_size = self._body.close()
        return SealedEnvelope(self.envelope_id, self.header, body_size, length)


def seal_stream(
    source: Readable,
    out: Writable,
    recipients: Iterable[PublicKey],
    *,
    routing: Mapping[str, str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    envelope_id: bytes | None = None,
) -> SealedEnvelope:
    """Encrypt ``source`` into body ``out`` for ``recipients``; return the header.

    The content key is fresh and random; it exists only in memory during the call.
    """
    writer = EnvelopeWriter(out, recipients, routing=routing, chunk_size=chunk_size,
                            envelope_id=envelope_id)
    while chunk := read_full(source, chunk_size):
        writer.write(chunk)
    return writer.close()


def open_stream(header: bytes, body: Readable, out: Writable, key: PrivateKey) -> OpenedEnvelope:
    """Decrypt an envelope with the recipient's private ``key``, writing plaintext to ``out``."""
    content_key = open_content_key(header, key)
    return decrypt_body(body, out, content_key)


@dataclass(frozen=True)
class Envelope:
    """An envelope held in memory: header and body bytes."""

    header: bytes
    body: bytes

    @property
    def envelope_id(self) -> bytes:
        """The envelope's id (from its header)."""
        return header_envelope_id(self.header)


def seal_bytes(
    plaintext: bytes,
    recipients: Iterable[PublicKey],
    *,
    routing: Mapping[str, str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Envelope:
    """Seal a small plaintext held in memory; see :func:`seal_stream`."""
    out = io.BytesIO()
    sealed = seal_stream(io.BytesIO(plaintext), out, recipients, routing=routing,
                         chunk_size=chunk_size)
    return Envelope(sealed.header, out.getvalue())


def open_bytes(envelope: Envelope, key: PrivateKey) -> tuple[bytes, OpenedEnvelope]:
    """Open an in-memory envelope; plaintext is returned only if it fully authenticates."""
    out = io.BytesIO()
    opened = open_stream(envelope.header, io.BytesIO(envelope.body), out, key)
    return out.getvalue(), opened


def rekey(
    header: bytes,
    body: SeekableReadable,
    out: Writable,
    key: PrivateKey,
    recipients: Iterable[PublicKey],
) -> SealedEnvelope:
    """Re-encrypt an envelope under a fresh content key for ``recipients`` (true revocation).

    ``key`` must be a current recipient. The new body keeps the envelope id and routing
    fields; anyone left out of ``recipients`` can no longer open it, even if they kept
    the old content key. The plaintext passes through a bounded in-memory pipe one chunk
    at a time, never to disk.
    """
    old_key = open_content_key(header, key)
    start = body.tell()
    preamble, _ = read_preamble(body)
    body.seek(start)
    new_key = ContentKey.generate(old_key.envelope_id)
    new_header = build_header(new_key, recipients)
    pipe = IteratorReader(body_plaintext(body, old_key))
    length, body_size = encrypt_body(
        pipe, out, new_key, routing=preamble.routing, chunk_size=preamble.chunk_size
    )
    pipe.drain()  # authenticate the old body to its very end
    return SealedEnvelope(old_key.envelope_id, new_header, body_size, length)
