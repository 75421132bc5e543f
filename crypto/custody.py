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
envelope cannot pass for the inner one (or the outer), and the inner layer names the
outer envelope it was sealed inside (``custody``), so that whoever holds an outer
content key (a custodian) cannot move another case's inner envelope into this one: a
requester released for this identity would otherwise read that other one.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping

from .body import read_preamble
from .envelope import Envelope, new_envelope_id, open_bytes, seal_bytes, seal_stream
from .errors import CryptoError, TamperedEnvelope
from .keys import PrivateKey, PublicKey
from .recipients import add_recipient, header_key_ids, open_content_key, parse_header

# The outer plaintext: magic and version, the inner header's length, the inner header,
# then the inner body to the end.
_FRAME_MAGIC = b"LYKC\x01"
_LENGTH = struct.Struct(">I")
_FRAME_START = len(_FRAME_MAGIC) + _LENGTH.size
OUTER_LAYER = "custody"
INNER_LAYER = "inner"
# Routing field names: which layer a body is, and (inner only) its outer envelope's id.
LAYER_FIELD = "layer"
BINDING_FIELD = "custody"


def seal_in_custody(plaintext: bytes, *, readers: Iterable[PublicKey],
                    custodians: Iterable[PublicKey],
                    routing: Mapping[str, str] | None = None) -> Envelope:
    """Seal ``plaintext`` to ``readers`` inside an envelope sealed to ``custodians``.

    ``routing`` goes into both layers (with each layer's own fields added; a caller's
    ``layer`` or ``custody`` field is refused). Put the escrow key in both lists for
    recovery. Both lists need at least one key (:class:`crypto.CryptoError`).
    """
    fields = dict(routing or {})
    if LAYER_FIELD in fields or BINDING_FIELD in fields:
        raise CryptoError("the custody routing fields are set by custody itself")
    outer_id = new_envelope_id()
    inner = seal_bytes(plaintext, readers, routing={
        **fields, LAYER_FIELD: INNER_LAYER, BINDING_FIELD: outer_id.hex()})
    framed = _FRAME_MAGIC + _LENGTH.pack(len(inner.header)) + inner.header + inner.body
    out = io.BytesIO()
    sealed = seal_stream(io.BytesIO(framed), out, custodians, envelope_id=outer_id,
                         routing={**fields, LAYER_FIELD: OUTER_LAYER})
    return Envelope(sealed.header, out.getvalue())


def open_outer(envelope: Envelope, key: PrivateKey) -> Envelope:
    """The inner envelope, still sealed: what a custodian (or a released requester) sees.

    Raises :class:`crypto.UnknownRecipient` without an entry for ``key`` in the outer
    header, :class:`crypto.TamperedEnvelope` for a body or frame that does not check
    (including an inner envelope that is not this outer's own inner layer).
    """
    framed, opened = open_bytes(envelope, key)
    if opened.routing.get(LAYER_FIELD) != OUTER_LAYER:
        raise TamperedEnvelope("not an envelope in custody")
    if len(framed) < _FRAME_START or not framed.startswith(_FRAME_MAGIC):
        raise TamperedEnvelope("custody frame is malformed")
    (length,) = _LENGTH.unpack(framed[len(_FRAME_MAGIC):_FRAME_START])
    if length > len(framed) - _FRAME_START:
        raise TamperedEnvelope("custody frame is malformed")
    inner = Envelope(framed[_FRAME_START:_FRAME_START + length],
                     framed[_FRAME_START + length:])
    # Only public facts of the inner envelope (no key needed): its parts belong together,
    # it is marked inner, and it was sealed inside this very outer envelope.
    # (Envelope ids are not secret: plain comparisons.)
    try:
        inner_id = parse_header(inner.header).envelope_id
        preamble, _ = read_preamble(io.BytesIO(inner.body))
    except CryptoError as exc:  # e.g. UnsupportedVersion: still a frame that does not check
        raise TamperedEnvelope("custody frame is malformed") from exc
    if preamble.envelope_id != inner_id:
        raise TamperedEnvelope("custody frame is malformed")
    if preamble.routing.get(LAYER_FIELD) != INNER_LAYER \
            or preamble.routing.get(BINDING_FIELD) != opened.envelope_id.hex():
        raise TamperedEnvelope("the inner layer does not belong to this envelope")
    return inner


def inner_key_ids(envelope: Envelope, key: PrivateKey) -> tuple[bytes, ...]:
    """The key ids of the inner layer's readers, as a custodian (``key``) reads them:
    whether a requester could open the identity once released."""
    return header_key_ids(open_outer(envelope, key).header)


def release(header: bytes, key: PrivateKey, requester: PublicKey) -> bytes:
    """The outer header with ``requester`` added, opened with the custodian's ``key``.

    The body is not touched; the requester gains the outer layer only, and reads the
    identity only if the inner layer is sealed to them too (check with
    :func:`inner_key_ids` first).
    """
    return add_recipient(header, open_content_key(header, key), requester)


def open_in_custody(envelope: Envelope, key: PrivateKey) -> bytes:
    """Open both layers with ``key`` (a released requester's, or escrow's).

    Raises :class:`crypto.UnknownRecipient` if ``key`` lacks an entry in either layer,
    :class:`crypto.TamperedEnvelope` (or another :class:`crypto.DecryptionError`) if
    either layer does not check.
    """
    inner = open_outer(envelope, key)
    plaintext, opened = open_bytes(inner, key)
    # Authenticated now (read_preamble in open_outer only parsed it).
    if opened.routing.get(LAYER_FIELD) != INNER_LAYER:
        raise TamperedEnvelope("the inner layer is not marked as such")
    return plaintext
