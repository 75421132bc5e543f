"""Envelopes in custody: two layers, so that no single role opens them (four eyes).

A confidential reporter's identity is sealed twice (crypto/FORMAT.md, "Custody"):

- the **inner** envelope, to the case's readers (and escrow): whoever may one day need
  the identity for the case;
- the **outer** envelope, whose plaintext is the whole inner envelope, to the custodians
  (and escrow): whoever decides whether a reader may.

A reader alone has no entry in the outer header, so never reaches the inner envelope; a
custodian alone opens the outer layer but has no entry in the inner one. A custodian's
approval is :func:`release`: the outer content key, added to the outer header for the
requester only. The requester then opens both layers with their own key; nobody else
gains anything. The escrow key is in both layers, so an offline recovery stays possible.

Each layer names itself in its authenticated routing (``layer``), so that a single-layer
envelope cannot pass for the inner one (or the outer) and the frame is checked whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from .envelope import Envelope, open_bytes, seal_bytes
from .errors import TamperedEnvelope
from .keys import PrivateKey, PublicKey
from .recipients import add_recipient, header_key_ids, open_content_key

# The outer plaintext: magic and version, the inner header's length, the inner header,
# then the inner body to the end.
_FRAME_MAGIC = b"LYKC\x01"
_LENGTH = struct.Struct(">I")
OUTER_LAYER = "custody"
INNER_LAYER = "inner"


def seal_in_custody(plaintext: bytes, *, readers: Iterable[PublicKey],
                    custodians: Iterable[PublicKey],
                    routing: Mapping[str, str] | None = None) -> Envelope:
    """Seal ``plaintext`` to ``readers`` inside an envelope sealed to ``custodians``.

    ``routing`` goes into both layers (with each layer's name added). Put the escrow key
    in both lists for recovery.
    """
    fields = dict(routing or {})
    inner = seal_bytes(plaintext, readers, routing={**fields, "layer": INNER_LAYER})
    framed = _FRAME_MAGIC + _LENGTH.pack(len(inner.header)) + inner.header + inner.body
    return seal_bytes(framed, custodians, routing={**fields, "layer": OUTER_LAYER})


def open_outer(envelope: Envelope, key: PrivateKey) -> Envelope:
    """The inner envelope, still sealed: what a custodian (or a released requester) sees.

    Raises :class:`crypto.UnknownRecipient` without an entry for ``key`` in the outer
    header, :class:`crypto.TamperedEnvelope` for a body or frame that does not check.
    """
    framed, opened = open_bytes(envelope, key)
    if opened.routing.get("layer") != OUTER_LAYER:
        raise TamperedEnvelope("not an envelope in custody")
    if not framed.startswith(_FRAME_MAGIC) or len(framed) < len(_FRAME_MAGIC) + _LENGTH.size:
        raise TamperedEnvelope("custody frame is malformed")
    start = len(_FRAME_MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack(framed[len(_FRAME_MAGIC):start])
    if length > len(framed) - start:
        raise TamperedEnvelope("custody frame is malformed")
    return Envelope(framed[start:start + length], framed[start + length:])


def inner_key_ids(envelope: Envelope, key: PrivateKey) -> tuple[bytes, ...]:
    """The key ids of the inner layer's readers, as a custodian (``key``) reads them:
    whether a requester could open the identity once released."""
    return header_key_ids(open_outer(envelope, key).header)


def release(header: bytes, key: PrivateKey, requester: PublicKey) -> bytes:
    """The outer header with ``requester`` added, opened with the custodian's ``key``.

    The body is not touched; the requester gains the outer layer only, and reads the
    identity only if the inner layer is sealed to them too.
    """
    return add_recipient(header, open_content_key(header, key), requester)


def open_in_custody(envelope: Envelope, key: PrivateKey) -> bytes:
    """Open both layers with ``key`` (a released requester's, or escrow's).

    Raises :class:`crypto.UnknownRecipient` if ``key`` lacks an entry in either layer.
    """
    inner = open_outer(envelope, key)
    plaintext, opened = open_bytes(inner, key)
    if opened.routing.get("layer") != INNER_LAYER:
        raise TamperedEnvelope("the inner layer is not marked as such")
    return plaintext
