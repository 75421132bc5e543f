"""Bare libsodium secretstream, with none of the envelope's framing, padding or keys.

Only ``make bench`` uses this: it is the baseline the envelope's throughput is compared
with. Keeping it here keeps every import of libsodium inside ``crypto/``. Never use it to
protect data: it has no recipient header, no padding and no associated data.
"""

from __future__ import annotations

import nacl.bindings as sodium

from .errors import TamperedEnvelope

ABYTES: int = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def raw_push(data: bytes, key: bytes, chunk: int, out: list[bytes] | None = None) -> bytes:
    """Encrypt ``data`` in ``chunk``-byte pieces, the last one FINAL; return the header."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header: bytes = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    size = len(data)
    for offset in range(0, size, chunk):
        end = offset + chunk
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
            state, data[offset:end], None, _TAG_FINAL if end >= size else _TAG_MESSAGE)
        if out is not None:
            out.append(sealed)
    return header


def raw_pull(header: bytes, ciphertext: bytes, key: bytes, chunk: int) -> None:
    """Decrypt a contiguous run of ``chunk + ABYTES`` ciphertexts made by :func:`raw_push`."""
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    step = chunk + ABYTES
    tag = _TAG_MESSAGE
    for offset in range(0, len(ciphertext), step):
        _, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
            state, ciphertext[offset : offset + step], None)
    if tag != _TAG_FINAL:
        raise TamperedEnvelope("raw stream did not end with TAG_FINAL")
