"""Backups sealed to an offline X25519 key (`LYKK`): a stream only the key's holder opens.

The machine that writes a backup holds only the backup *public* key (a setting): it can
seal, never open, so the backup host and whoever steals a backup learn nothing but the
size. Each backup gets a fresh ephemeral key pair; the stream key is derived from the
X25519 agreement between it and the backup key, and the body is libsodium's
``crypto_secretstream_xchacha20poly1305`` over fixed-size chunks. The stream's counter
rejects reordered, dropped or repeated chunks; the last chunk, and only it, carries the
FINAL tag, so a truncated backup is refused; bytes after it are refused too. Byte layout
in crypto/FORMAT.md.

A sealed stream is a channel, not a signature: anyone who knows the public key can write
one. Restoring checks what the content claims (docs/backups.md says how).

Decryption yields plaintext chunk by chunk, before the end has been authenticated: a
caller must treat everything read as unverified until :func:`open_backup` has returned
normally (common/backup.py reads the whole stream once before acting on any of it).
"""

from __future__ import annotations

import hmac
import secrets
import struct
from collections.abc import Iterator

import nacl.bindings as sodium
import nacl.encoding
import nacl.exceptions
import nacl.hash

from .errors import CryptoError, DecryptionError, UnsupportedVersion
from .keys import KEY_BYTES, PrivateKey, PublicKey
from .streams import Readable, Writable, read_full

MAGIC = b"LYKK"
VERSION = 1
DEFAULT_CHUNK_LOG2 = 16  # 64 KiB
MIN_CHUNK_LOG2 = 12
MAX_CHUNK_LOG2 = 22  # bounds what a hostile header can make a reader allocate
_PRE = struct.Struct(">4sBB16s32s")  # magic, version, chunk_log2, key id, ephemeral key
_SS_HEADER_BYTES: int = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_ABYTES: int = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_KDF_PERSON = b"lykta-backup-v1"  # BLAKE2b personalisation (at most 16 bytes)
HEADER_BYTES = _PRE.size + _SS_HEADER_BYTES

# The private key file: one line of text naming what it is, one of hex.
_KEY_FILE_LABEL = b"lykta backup private key v1"


class DamagedBackup(DecryptionError):
    """A backup that fails authentication: changed, truncated, extended or reordered."""

    default_message = ("the backup is damaged or incomplete (a changed, missing or extra "
                       "byte, or a truncated file)")


class WrongBackupKey(DecryptionError):
    """The backup is sealed to another backup key than the one given."""

    default_message = "the backup is sealed to another backup key"


def new_backup_key() -> PrivateKey:
    """A fresh backup key pair (its private half belongs offline)."""
    return PrivateKey.generate()


def backup_key_file(key: PrivateKey) -> bytes:
    """The private key file's contents (text: a label line and 64 hex digits)."""
    return _KEY_FILE_LABEL + b"\n" + key.raw_bytes().hex().encode() + b"\n"


def load_backup_key_file(data: bytes) -> PrivateKey:
    """Parse a file written by :func:`backup_key_file`."""
    lines = data.split(b"\n")
    if len(lines) < 2 or lines[0].strip() != _KEY_FILE_LABEL:
        raise CryptoError("not a backup private key file")
    try:
        raw = bytes.fromhex(lines[1].strip().decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CryptoError("not a backup private key file") from exc
    if len(raw) != KEY_BYTES:
        raise CryptoError("not a backup private key file")
    return PrivateKey.from_raw(raw)


def _stream_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    # Both public keys go into the derivation, as crypto_kx and crypto_box_seal do: the
    # key is bound to this exchange, not only to the shared point.
    derived: bytes = nacl.hash.blake2b(shared + ephemeral + recipient, digest_size=32,
                                       person=_KDF_PERSON, encoder=nacl.encoding.RawEncoder)
    return derived


class BackupWriter:
    """Seal a stream to ``recipient``: ``write`` any amount, then ``close`` (FINAL).

    Memory stays at one chunk whatever the size; nothing is written in the clear.
    """

    def __init__(self, out: Writable, recipient: PublicKey,
                 chunk_log2: int = DEFAULT_CHUNK_LOG2) -> None:
        if not MIN_CHUNK_LOG2 <= chunk_log2 <= MAX_CHUNK_LOG2:
            raise CryptoError("chunk size out of range")
        self._out = out
        self._chunk = 1 << chunk_log2
        ephemeral = secrets.token_bytes(KEY_BYTES)
        ephemeral_public = sodium.crypto_scalarmult_base(ephemeral)
        shared = sodium.crypto_scalarmult(ephemeral, recipient.raw)
        key = _stream_key(shared, ephemeral_public, recipient.raw)
        self._ad = _PRE.pack(MAGIC, VERSION, chunk_log2, recipient.key_id, ephemeral_public)
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        out.write(self._ad + header)
        self._buffer = bytearray()
        self._closed = False

    def write(self, data: bytes) -> None:
        """Add ``data`` to the stream (sealed a full chunk at a time)."""
        if self._closed:
            raise CryptoError("backup stream already closed")
        self._buffer += data
        # Strictly more than a chunk: the FINAL chunk is then always shorter than a full
        # one, so a reader knows the last frame by its size and its tag must agree.
        while len(self._buffer) > self._chunk:
            self._push(bytes(self._buffer[:self._chunk]), _TAG_MESSAGE)
            del self._buffer[:self._chunk]

    def close(self) -> None:
        """Seal what is left as the FINAL chunk (always shorter than a full chunk)."""
        if self._closed:
            return
        if len(self._buffer) == self._chunk:
            self._push(bytes(self._buffer), _TAG_MESSAGE)
            self._buffer.clear()
        self._push(bytes(self._buffer), _TAG_FINAL)
        self._buffer.clear()
        self._closed = True

    def _push(self, chunk: bytes, tag: int) -> None:
        self._out.write(sodium.crypto_secretstream_xchacha20poly1305_push(
            self._state, chunk, self._ad, tag))


def backup_key_id(source: Readable) -> bytes:
    """The key id a backup is sealed to, from its header (nothing is authenticated)."""
    return _read_header(source)[0][3]


def _read_header(source: Readable) -> tuple[tuple[bytes, int, int, bytes, bytes], bytes]:
    raw = read_full(source, _PRE.size)
    if len(raw) < _PRE.size or raw[:4] != MAGIC:
        raise DamagedBackup("not a Lykta backup (no LYKK header)")
    fields: tuple[bytes, int, int, bytes, bytes] = _PRE.unpack(raw)
    if fields[1] != VERSION:
        raise UnsupportedVersion("unsupported backup format version")
    if not MIN_CHUNK_LOG2 <= fields[2] <= MAX_CHUNK_LOG2:
        raise DamagedBackup("the backup header is damaged (chunk size)")
    return fields, raw


def open_backup(source: Readable, key: PrivateKey) -> Iterator[bytes]:
    """Yield the plaintext of a sealed backup, chunk by chunk.

    Raises :class:`WrongBackupKey`, :class:`DamagedBackup` or ``UnsupportedVersion``.
    Only when the iterator ends normally has the whole stream, up to its FINAL chunk and
    with nothing after it, been authenticated.
    """
    fields, ad = _read_header(source)
    _magic, _version, chunk_log2, key_id, ephemeral_public = fields
    if not hmac.compare_digest(key_id, key.key_id):
        raise WrongBackupKey()
    ss_header = read_full(source, _SS_HEADER_BYTES)
    if len(ss_header) != _SS_HEADER_BYTES:
        raise DamagedBackup()
    try:
        shared = sodium.crypto_scalarmult(key.raw_bytes(), ephemeral_public)
    except nacl.exceptions.RuntimeError as exc:  # a low-order point: a forged header
        raise DamagedBackup() from exc
    stream_key = _stream_key(shared, ephemeral_public, key.public_key.raw)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, ss_header, stream_key)
    except nacl.exceptions.CryptoError as exc:
        raise DamagedBackup() from exc
    full = (1 << chunk_log2) + _ABYTES
    while True:
        frame = read_full(source, full)
        if len(frame) < _ABYTES:
            raise DamagedBackup()  # ended before a FINAL chunk: truncated
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, frame, ad)
        except nacl.exceptions.CryptoError as exc:
            raise DamagedBackup() from exc
        if tag == _TAG_FINAL:
            if len(frame) == full or source.read(1):
                raise DamagedBackup()  # a full FINAL frame is never written; or extended
            if plain:
                yield plain
            return
        if tag != _TAG_MESSAGE or len(frame) != full:
            raise DamagedBackup()
        yield plain
