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


class _ChunkWriter:
    """Pushes plaintext chunks into a secretstream and frames them onto ``out``."""

    def __init__(self, out: Writable, key: bytes, context: bytes) -> None:
        self._out = out
        self._ad = context
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        out.write(context)
        out.write(ss_header)
        self.written = len(context) + len(ss_header)

    def push(self, plaintext: bytes, tag: int) -> None:
        """Encrypt one chunk and write it with its length frame."""
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, plaintext, self._ad, tag
        )
        self._out.write(_FRAME.pack(len(sealed)))
        self._out.write(sealed)
        self.written += _FRAME.size + len(sealed)


def encrypt_body(
    source: Readable,
    out: Writable,
    content_key: ContentKey,
    *,
    routing: Mapping[str, str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[int, int]:
    """Encrypt ``source`` into ``out`` under ``content_key``; return (plaintext, body) sizes."""
    preamble = Preamble(FORMAT_VERSION, _chunk_log2(chunk_size), content_key.envelope_id,
                        dict(routing or {}))
    writer = _ChunkWriter(out, content_key.raw_bytes(), preamble.context())

    # Full chunks go out as DATA only once we know more data follows, so the last piece
    # of data (0 < r <= chunk size, or 0 for an empty plaintext) is always the BOUNDARY.
    current = read_full(source, chunk_size)
    full_chunks = 0
    while len(current) == chunk_size:
        following = read_full(source, chunk_size)
        if not following:
            break
        writer.push(current, _TAG_DATA)
        full_chunks += 1
        current = following
    length = full_chunks * chunk_size + len(current)

    # Lay the padded payload (everything before the 4-byte trailer) out in chunk-size
    # pieces; the boundary chunk is the piece holding the end of the data.
    payload = padded_size(length + _TRAILER.size) - _TRAILER.size
    boundary_size = min(chunk_size, payload - full_chunks * chunk_size)
    writer.push(current + bytes(boundary_size - len(current)), _TAG_BOUNDARY)
    remaining = payload - full_chunks * chunk_size - boundary_size
    zeros = bytes(min(chunk_size, remaining))
    while remaining > 0:
        piece = min(chunk_size, remaining)
        writer.push(zeros if piece == len(zeros) else zeros[:piece], _TAG_DATA)
        remaining -= piece
    writer.push(_TRAILER.pack(len(current)), _TAG_FINAL)
    return length, writer.written


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
