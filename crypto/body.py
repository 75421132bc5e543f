"""Envelope bodies: the immutable, chunked, padded and authenticated part of an envelope.

An envelope has two parts (byte layout in crypto/FORMAT.md):

* the **body**, immutable: a preamble (format version, chunk size, envelope id, routing
  fields, secretstream header) followed by length-framed
  ``crypto_secretstream_xchacha20poly1305`` chunks. The preamble is the associated data
  of every chunk, so a chunk cannot be moved to another envelope, and the routing fields
  cannot be edited; secretstream's internal counter and the FINAL tag reject reordered,
  dropped, truncated or extended streams.
* the **recipient header**, mutable (:mod:`crypto.recipients`).

Plaintext is padded with Padmé before encryption. Padding lives in whole chunks after
the data, so every chunk but the last two has the same size and the framing reveals
only the padded length. The body is processed a chunk at a time: memory use does not
grow with the size of the plaintext.

Streaming decryption writes plaintext to ``out`` before the end of the stream has been
authenticated. Callers must treat ``out`` as garbage if an exception is raised (the
``*_bytes`` helpers do this for you).
"""

from __future__ import annotations

import hmac
import json
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import nacl.bindings as sodium
import nacl.exceptions

from .errors import CryptoError, TamperedEnvelope, UnsupportedVersion
from .padding import padded_size
from .recipients import ContentKey
from .streams import Readable, Writable, read_full

FORMAT_VERSION = 1
DEFAULT_CHUNK_SIZE = 64 * 1024
MIN_CHUNK_LOG2 = 12  # 4 KiB
MAX_CHUNK_LOG2 = 22  # 4 MiB: bounds the memory a hostile preamble can make us allocate
MAX_ROUTING_BYTES = 4096

_MAGIC = b"LYKB"
_PRE = struct.Struct(">4sBB16sH")
_FRAME = struct.Struct(">I")
_TRAILER = struct.Struct(">I")
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_SS_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_DATA = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_BOUNDARY = sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL



@dataclass(frozen=True)
class Preamble:
    """The authenticated, unencrypted start of a body."""

    version: int
    chunk_log2: int
    envelope_id: bytes
    routing: Mapping[str, str] = field(default_factory=dict)

    @property
    def chunk_size(self) -> int:
        """Plaintext bytes per full chunk."""
        return 1 << self.chunk_log2

    def context(self) -> bytes:
        """The bytes bound as associated data into every chunk."""
        blob = encode_routing(self.routing)
        return _PRE.pack(_MAGIC, self.version, self.chunk_log2, self.envelope_id, len(blob)) + blob


@dataclass(frozen=True)
class OpenedEnvelope:
    """What opening returns besides the plaintext."""

    envelope_id: bytes
    routing: Mapping[str, str]
    plaintext_size: int


def encode_routing(routing: Mapping[str, str]) -> bytes:
    """Canonical encoding of routing fields: sorted compact JSON, UTF-8."""
    for name, value in routing.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise CryptoError("routing fields must map strings to strings")
    try:
        blob = json.dumps(
            dict(routing), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise CryptoError("routing fields must be valid Unicode text") from exc
    if len(blob) > MAX_ROUTING_BYTES:
        raise CryptoError("routing fields too large")
    return blob


def _decode_routing(blob: bytes) -> dict[str, str]:
    try:
        routing = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TamperedEnvelope("routing fields are not valid") from exc
    if not isinstance(routing, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in routing.items()
    ):
        raise TamperedEnvelope("routing fields are not valid")
    # Only the canonical encoding is accepted, so one envelope has one byte form.
    try:
        canonical = encode_routing(routing)
    except CryptoError as exc:
        raise TamperedEnvelope("routing fields are not valid") from exc
    if canonical != blob:
        raise TamperedEnvelope("routing fields are not canonical")
    return routing


def _chunk_log2(chunk_size: int) -> int:
    log2 = chunk_size.bit_length() - 1
    if chunk_size != 1 << log2 or not MIN_CHUNK_LOG2 <= log2 <= MAX_CHUNK_LOG2:
        raise CryptoError("chunk size must be a power of two between 4 KiB and 4 MiB")
    return log2


class BodyWriter:
    """Encrypts a body pushed to it with ``write()``, e.g. by a multipart parser.

    Plaintext is encrypted as soon as a full chunk is known to be followed by more data,
    so at most one chunk of plaintext is held in memory and none ever reaches ``out``.
    """

    def __init__(
        self,
        out: Writable,
        content_key: ContentKey,
        *,
        routing: Mapping[str, str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        preamble = Preamble(FORMAT_VERSION, _chunk_log2(chunk_size), content_key.envelope_id,
                            dict(routing or {}))
        self._out = out
        self._ad = preamble.context()
        self._chunk_size = chunk_size
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, content_key.raw_bytes()
        )
        out.write(self._ad)
        out.write(ss_header)
        self.body_size = len(self._ad) + len(ss_header)
        self.plaintext_size = 0
        self._pending = b""  # at most one chunk, not yet known to be followed by more
        self._full_chunks = 0
        self._closed = False

    def _push(self, plaintext: bytes, tag: int) -> None:
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, plaintext, self._ad, tag
        )
        self._out.write(_FRAME.pack(len(sealed)))
        self._out.write(sealed)
        self.body_size += _FRAME.size + len(sealed)

    def write(self, data: bytes, /) -> int:
        """Accept more plaintext; return its length."""
        if self._closed:
            raise CryptoError("envelope body is already closed")
        data = bytes(data)
        if not data:
            return 0
        size = self._chunk_size
        self.plaintext_size += len(data)
        # Full chunks go out as DATA only once more data follows, so the last piece of
        # data (0 < r <= chunk size, or 0 for empty plaintext) is always the BOUNDARY.
        if len(self._pending) == size:
            self._push(self._pending, _TAG_DATA)
            self._full_chunks += 1
            self._pending = b""
        if not self._pending and len(data) <= size:
            self._pending = data  # the common case when fed whole chunks: no copy
            return len(data)
        buffer = self._pending + data
        pos = 0
        while len(buffer) - pos > size:
            self._push(buffer[pos : pos + size], _TAG_DATA)
            self._full_chunks += 1
            pos += size
        self._pending = buffer[pos:]
        return len(data)

    def close(self) -> tuple[int, int]:
        """Write the boundary, padding and final chunks; return (plaintext, body) sizes."""
        if self._closed:
            raise CryptoError("envelope body is already closed")
        self._closed = True
        size = self._chunk_size
        sent = self._full_chunks * size
        # Lay the padded payload (everything before the 4-byte trailer) out in chunk-size
        # pieces; the boundary chunk is the piece holding the end of the data.
        payload = padded_size(self.plaintext_size + _TRAILER.size) - _TRAILER.size
        boundary_size = min(size, payload - sent)
        self._push(self._pending + bytes(boundary_size - len(self._pending)), _TAG_BOUNDARY)
        remaining = payload - sent - boundary_size
        zeros = bytes(min(size, remaining))
        while remaining > 0:
            piece = min(size, remaining)
            self._push(zeros if piece == len(zeros) else zeros[:piece], _TAG_DATA)
            remaining -= piece
        self._push(_TRAILER.pack(len(self._pending)), _TAG_FINAL)
        self._pending = b""
        return self.plaintext_size, self.body_size


def encrypt_body(
    source: Readable,
    out: Writable,
    content_key: ContentKey,
    *,
    routing: Mapping[str, str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[int, int]:
    """Encrypt ``source`` into ``out`` under ``content_key``; return (plaintext, body) sizes."""
    writer = BodyWriter(out, content_key, routing=routing, chunk_size=chunk_size)
    while chunk := read_full(source, chunk_size):
        writer.write(chunk)
    return writer.close()


def read_preamble(body: Readable) -> tuple[Preamble, bytes]:
    """Read and validate a body's preamble; return it and the secretstream header."""
    head = read_full(body, _PRE.size)
    if len(head) != _PRE.size:
        raise TamperedEnvelope("envelope body is truncated")
    magic, version, chunk_log2, envelope_id, routing_len = _PRE.unpack(head)
    if magic != _MAGIC:
        raise TamperedEnvelope("not an envelope body")
    if version != FORMAT_VERSION:
        raise UnsupportedVersion()
    if not MIN_CHUNK_LOG2 <= chunk_log2 <= MAX_CHUNK_LOG2 or routing_len > MAX_ROUTING_BYTES:
        raise TamperedEnvelope("envelope body has invalid parameters")
    blob = read_full(body, routing_len)
    ss_header = read_full(body, _SS_HEADER_BYTES)
    if len(blob) != routing_len or len(ss_header) != _SS_HEADER_BYTES:
        raise TamperedEnvelope("envelope body is truncated")
    return Preamble(version, chunk_log2, envelope_id, _decode_routing(blob)), ss_header


class _BodyReader:
    """Authenticates and decrypts a body one chunk at a time (constant memory)."""

    def __init__(self, body: Readable, content_key: ContentKey) -> None:
        self._body = body
        self.preamble, ss_header = read_preamble(body)
        if not hmac.compare_digest(self.preamble.envelope_id, content_key.envelope_id):
            raise TamperedEnvelope("body belongs to another envelope")
        self._ad = self.preamble.context()
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(
                self._state, ss_header, content_key.raw_bytes()
            )
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise TamperedEnvelope() from exc
        self.plaintext_size = 0

    def _next_chunk(self) -> tuple[bytes, int]:
        frame = read_full(self._body, _FRAME.size)
        if len(frame) != _FRAME.size:
            raise TamperedEnvelope("envelope body is truncated")
        (size,) = _FRAME.unpack(frame)
        # Checked before reading, so a forged frame length cannot make us allocate more
        # than one chunk.
        if not _ABYTES <= size <= self.preamble.chunk_size + _ABYTES:
            raise TamperedEnvelope("envelope chunk has an invalid size")
        sealed = read_full(self._body, size)
        if len(sealed) != size:
            raise TamperedEnvelope("envelope body is truncated")
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                self._state, sealed, self._ad
            )
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise TamperedEnvelope() from exc
        return plain, tag

    def chunks(self) -> Iterator[bytes]:
        """Yield the plaintext piece by piece; raise on any tampering, even at the end."""
        chunk_size = self.preamble.chunk_size
        while True:  # data chunks, up to the boundary chunk
            plain, tag = self._next_chunk()
            if tag == _TAG_BOUNDARY:
                boundary = plain
                break
            if tag != _TAG_DATA or len(plain) != chunk_size:
                raise TamperedEnvelope("envelope chunk sequence is invalid")
            self.plaintext_size += len(plain)
            yield plain
        while True:  # padding chunks, up to the final chunk with the trailer
            plain, tag = self._next_chunk()
            if tag == _TAG_DATA:
                continue
            if tag != _TAG_FINAL or len(plain) != _TRAILER.size:
                raise TamperedEnvelope("envelope chunk sequence is invalid")
            (tail,) = _TRAILER.unpack(plain)
            if tail > len(boundary):
                raise TamperedEnvelope("envelope trailer is invalid")
            break
        if self._body.read(1):
            raise TamperedEnvelope("envelope body has data after its end")
        self.plaintext_size += tail
        if tail:
            yield boundary[:tail]


def decrypt_body(body: Readable, out: Writable, content_key: ContentKey) -> OpenedEnvelope:
    """Decrypt ``body`` into ``out`` with ``content_key``; raise on any tampering."""
    reader = _BodyReader(body, content_key)
    for piece in reader.chunks():
        out.write(piece)
    return OpenedEnvelope(reader.preamble.envelope_id, reader.preamble.routing,
                          reader.plaintext_size)


def body_plaintext(body: Readable, content_key: ContentKey) -> Iterator[bytes]:
    """Yield a body's plaintext piece by piece (raises on tampering, even at the end)."""
    return _BodyReader(body, content_key).chunks()


def read_body_preamble(body: Readable) -> Preamble:
    """The public preamble of a body (envelope id, routing), readable without any key."""
    return read_preamble(body)[0]
