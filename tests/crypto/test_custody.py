"""Envelopes in custody (crypto/custody.py, crypto/FORMAT.md "Custody"): four eyes.

Neither a reader alone nor a custodian alone opens the plaintext; a custodian's release
adds exactly the requester; escrow opens both layers. The tampering tests build frames
the way crypto/FORMAT.md describes them (not with the module's own helpers), as someone
holding an outer content key (a custodian) could, and first check that the untampered
frame built that way opens: so a refusal is caused by the tampering, never the helper.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crypto
from crypto import CryptoError, DecryptionError, Envelope, PrivateKey, TamperedEnvelope
from crypto import UnknownRecipient as Unknown

VECTORS = Path(__file__).parent / "vectors"
FRAME_MAGIC = b"LYKC\x01"
ROUTING = {"kind": "identity"}


@dataclass(frozen=True)
class Parties:
    """Two readers (both in the inner layer), a reader outside it, two custodians,
    escrow and an outsider."""

    reader: PrivateKey
    colleague: PrivateKey
    newcomer: PrivateKey
    custodian: PrivateKey
    second_custodian: PrivateKey
    escrow: PrivateKey
    outsider: PrivateKey

    def seal(self, plaintext: bytes = b'{"name": "Tipster"}') -> Envelope:
        return crypto.seal_in_custody(
            plaintext,
            readers=[self.reader.public_key, self.colleague.public_key,
                     self.escrow.public_key],
            custodians=[self.custodian.public_key, self.second_custodian.public_key,
                        self.escrow.public_key],
            routing=ROUTING)


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties(*(PrivateKey.generate() for _ in range(7)))


@pytest.fixture(scope="module")
def sealed(parties: Parties) -> Envelope:
    return parties.seal()


def frame(inner: Envelope) -> bytes:
    """The outer plaintext as FORMAT.md lays it out."""
    return FRAME_MAGIC + struct.pack(">I", len(inner.header)) + inner.header + inner.body


def outer_of(plaintext: bytes, recipients: list[PrivateKey], *, envelope_id: bytes,
             routing: dict[str, str] | None = None) -> Envelope:
    """An outer layer around any plaintext, with a chosen envelope id (what a holder of
    the outer key could write)."""
    out = io.BytesIO()
    done = crypto.seal_stream(io.BytesIO(plaintext), out, [k.public_key for k in recipients],
                              envelope_id=envelope_id,
                              routing=routing or {**ROUTING, "layer": "custody"})
    return Envelope(done.header, out.getvalue())


# --- who opens what -----------------------------------------------------------------------

def test_a_reader_alone_opens_nothing(parties: Parties, sealed: Envelope) -> None:
    for reader in (parties.reader, parties.colleague):
        with pytest.raises(Unknown):
            crypto.open_outer(sealed, reader)
        with pytest.raises(Unknown):
            crypto.open_in_custody(sealed, reader)
        with pytest.raises(Unknown):  # nor as a plain envelope
            crypto.open_bytes(sealed, reader)


def test_a_custodian_alone_opens_the_outer_layer_only(parties: Parties,
                                                       sealed: Envelope) -> None:
    for custodian in (parties.custodian, parties.second_custodian):
        inner = crypto.open_outer(sealed, custodian)
        assert set(crypto.header_key_ids(inner.header)) == {
            parties.reader.key_id, parties.colleague.key_id, parties.escrow.key_id}
        with pytest.raises(Unknown):
            crypto.open_bytes(inner, custodian)
        with pytest.raises(Unknown):
            crypto.open_in_custody(sealed, custodian)


def test_outsiders_open_nothing(parties: Parties, sealed: Envelope) -> None:
    for key in (parties.outsider, parties.newcomer):
        with pytest.raises(Unknown):
            crypto.open_in_custody(sealed, key)


def test_escrow_opens_both_layers(parties: Parties, sealed: Envelope) -> None:
    assert crypto.open_in_custody(sealed, parties.escrow) == b'{"name": "Tipster"}'


def test_both_layers_carry_the_routing_and_name_themselves(parties: Parties,
                                                           sealed: Envelope) -> None:
    assert crypto.read_body_preamble(io.BytesIO(sealed.body)).routing == {
        "kind": "identity", "layer": "custody"}
    inner = crypto.open_outer(sealed, parties.custodian)
    assert crypto.read_body_preamble(io.BytesIO(inner.body)).routing == {
        "kind": "identity", "layer": "inner", "custody": sealed.envelope_id.hex()}
    assert inner.envelope_id != sealed.envelope_id


def test_inner_key_ids_tell_a_custodian_who_could_read(parties: Parties,
                                                       sealed: Envelope) -> None:
    ids = crypto.inner_key_ids(sealed, parties.custodian)
    assert parties.reader.key_id in ids and parties.newcomer.key_id not in ids
    with pytest.raises(Unknown):
        crypto.inner_key_ids(sealed, parties.reader)


# --- release ------------------------------------------------------------------------------

def test_release_adds_the_requester_and_nobody_else(parties: Parties,
                                                    sealed: Envelope) -> None:
    before = crypto.header_key_ids(sealed.header)
    header = crypto.release(sealed.header, parties.custodian, parties.reader.public_key)
    assert crypto.header_key_ids(header) == (*before, parties.reader.key_id)
    released = Envelope(header, sealed.body)  # the body is untouched
    assert crypto.open_in_custody(released, parties.reader) == b'{"name": "Tipster"}'
    # The colleague, also in the inner layer, gains nothing from the reader's release.
    for key in (parties.colleague, parties.custodian, parties.outsider):
        with pytest.raises(Unknown):
            crypto.open_in_custody(released, key)
    # Releasing twice changes nothing.
    assert crypto.release(header, parties.second_custodian,
                          parties.reader.public_key) == header


def test_a_released_requester_outside_the_inner_layer_still_reads_nothing(
        parties: Parties, sealed: Envelope) -> None:
    header = crypto.release(sealed.header, parties.custodian, parties.newcomer.public_key)
    released = Envelope(header, sealed.body)
    crypto.open_outer(released, parties.newcomer)  # the outer opens...
    with pytest.raises(Unknown):  # ...the identity does not
        crypto.open_in_custody(released, parties.newcomer)


def test_only_a_custodian_can_release(parties: Parties, sealed: Envelope) -> None:
    for key in (parties.reader, parties.outsider):
        with pytest.raises(Unknown):
            crypto.release(sealed.header, key, key.public_key)


def test_a_release_on_another_envelopes_header_gives_nothing_here(
        parties: Parties, sealed: Envelope) -> None:
    other = parties.seal(b"another")
    header = crypto.release(other.header, parties.custodian, parties.reader.public_key)
    with pytest.raises(DecryptionError):
        crypto.open_in_custody(Envelope(header, sealed.body), parties.reader)


# --- refusing what does not check -----------------------------------------------------------

def test_the_frame_built_as_documented_opens(parties: Parties, sealed: Envelope) -> None:
    """The helpers below are right: an untampered rebuild opens."""
    inner = crypto.open_outer(sealed, parties.custodian)
    rebuilt = outer_of(frame(inner), [parties.custodian, parties.escrow],
                       envelope_id=sealed.envelope_id)
    assert crypto.open_in_custody(rebuilt, parties.escrow) == b'{"name": "Tipster"}'


@pytest.mark.parametrize("where", [0, 30, -1, -40, "middle"])
def test_a_tampered_outer_body_is_refused(parties: Parties, sealed: Envelope,
                                          where: int | str) -> None:
    body = bytearray(sealed.body)
    index = len(body) // 2 if where == "middle" else int(where)
    body[index] ^= 0x01
    for key in (parties.custodian, parties.escrow):
        with pytest.raises(CryptoError):
            crypto.open_outer(Envelope(sealed.header, bytes(body)), key)


@pytest.mark.parametrize("where", [30, -1, "middle"])
def test_a_tampered_inner_body_is_refused(parties: Parties, sealed: Envelope,
                                          where: int | str) -> None:
    inner = crypto.open_outer(sealed, parties.custodian)
    body = bytearray(inner.body)
    index = len(body) // 2 if where == "middle" else int(where)
    body[index] ^= 0x01
    forged = outer_of(frame(Envelope(inner.header, bytes(body))),
                      [parties.custodian, parties.escrow], envelope_id=sealed.envelope_id)
    with pytest.raises(DecryptionError):
        crypto.open_in_custody(forged, parties.escrow)


def test_a_tampered_outer_header_entry_is_refused(parties: Parties, sealed: Envelope) -> None:
    header = bytearray(sealed.header)
    header[23 + 16 + 5] ^= 0x01  # inside the first recipient's sealed box (the custodian's)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(Envelope(bytes(header), sealed.body), parties.custodian)


def test_a_single_layer_envelope_is_not_an_outer_layer(parties: Parties) -> None:
    plain = crypto.seal_bytes(b'{"name": "x"}', [parties.custodian.public_key],
                              routing=ROUTING)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(plain, parties.custodian)
    with pytest.raises(TamperedEnvelope):
        crypto.open_in_custody(plain, parties.custodian)


def test_a_single_layer_envelope_marked_custody_without_a_frame_is_refused(
        parties: Parties) -> None:
    marked = crypto.seal_bytes(b'{"name": "x"}', [parties.custodian.public_key],
                               routing={**ROUTING, "layer": "custody"})
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(marked, parties.custodian)


def test_an_outer_layer_is_not_an_inner_layer(parties: Parties, sealed: Envelope) -> None:
    """An outer envelope framed as the inner one (both sealed to the custodian, who could
    then read the identity alone) is refused."""
    nested = outer_of(frame(parties.seal()), [parties.custodian],
                      envelope_id=sealed.envelope_id)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(nested, parties.custodian)


def test_a_single_layer_envelope_is_not_an_inner_layer(parties: Parties,
                                                       sealed: Envelope) -> None:
    """A plain envelope (no layer, no binding) framed as the inner one is refused."""
    plain = crypto.seal_bytes(b"x", [parties.custodian.public_key], routing=ROUTING)
    forged = outer_of(frame(plain), [parties.custodian], envelope_id=sealed.envelope_id)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(forged, parties.custodian)


def test_another_envelopes_inner_layer_is_refused(parties: Parties, sealed: Envelope) -> None:
    """A custodian cannot move another identity's inner layer into this envelope (a
    requester released for this one would then read that one)."""
    other = parties.seal(b"someone else")
    inner = crypto.open_outer(other, parties.custodian)
    moved = outer_of(frame(inner), [parties.custodian, parties.escrow],
                     envelope_id=sealed.envelope_id)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(moved, parties.escrow)


@pytest.mark.parametrize("cut", ["magic", "short", "length", "header", "body_end"])
def test_a_truncated_frame_is_refused(parties: Parties, sealed: Envelope, cut: str) -> None:
    inner = crypto.open_outer(sealed, parties.custodian)
    full = frame(inner)
    plaintext = {
        "magic": b"LYKC\x02" + full[5:],
        "short": full[:7],
        "length": FRAME_MAGIC + struct.pack(">I", len(full)) + full[9:],
        "header": full[:9 + len(inner.header) - 1],
        "body_end": full[:-1],
    }[cut]
    forged = outer_of(plaintext, [parties.custodian, parties.escrow],
                      envelope_id=sealed.envelope_id)
    with pytest.raises(DecryptionError):
        crypto.open_in_custody(forged, parties.escrow)


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 100])
def test_an_extended_frame_is_refused(parties: Parties, sealed: Envelope, extra: bytes) -> None:
    inner = crypto.open_outer(sealed, parties.custodian)
    forged = outer_of(frame(inner) + extra, [parties.custodian, parties.escrow],
                      envelope_id=sealed.envelope_id)
    with pytest.raises(DecryptionError):
        crypto.open_in_custody(forged, parties.escrow)


def test_a_longer_inner_header_is_refused(parties: Parties, sealed: Envelope) -> None:
    """The length field moved so that the inner header swallows the body's start."""
    inner = crypto.open_outer(sealed, parties.custodian)
    full = frame(inner)
    lying = FRAME_MAGIC + struct.pack(">I", len(inner.header) + 4) + full[9:]
    forged = outer_of(lying, [parties.custodian, parties.escrow],
                      envelope_id=sealed.envelope_id)
    with pytest.raises(TamperedEnvelope):
        crypto.open_outer(forged, parties.escrow)


def test_the_header_of_another_envelope_is_refused(parties: Parties, sealed: Envelope) -> None:
    other = parties.seal()
    for key in (parties.custodian, parties.escrow):
        with pytest.raises(TamperedEnvelope):
            crypto.open_outer(Envelope(other.header, sealed.body), key)


def test_swapping_the_two_parts_of_the_layers_is_refused(parties: Parties,
                                                         sealed: Envelope) -> None:
    """The inner envelope stored as if it were the outer one: its routing says inner."""
    inner = crypto.open_outer(sealed, parties.custodian)
    with pytest.raises(DecryptionError):
        crypto.open_outer(inner, parties.escrow)


def test_custody_sets_its_own_routing_fields(parties: Parties) -> None:
    for field in ("layer", "custody"):
        with pytest.raises(CryptoError):
            crypto.seal_in_custody(b"x", readers=[parties.reader.public_key],
                                   custodians=[parties.custodian.public_key],
                                   routing={field: "inner"})


@pytest.mark.parametrize("empty", ["readers", "custodians"])
def test_each_layer_needs_a_recipient(parties: Parties, empty: str) -> None:
    readers = [] if empty == "readers" else [parties.reader.public_key]
    custodians = [] if empty == "custodians" else [parties.custodian.public_key]
    with pytest.raises(CryptoError):
        crypto.seal_in_custody(b"x", readers=readers, custodians=custodians)


# --- properties and the committed vector ----------------------------------------------------

@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.binary(max_size=9000),
       routing=st.dictionaries(st.sampled_from(["kind", "unit", "x"]),
                               st.text(max_size=20), max_size=3))
def test_round_trip(parties: Parties, plaintext: bytes, routing: dict[str, str]) -> None:
    envelope = crypto.seal_in_custody(
        plaintext, readers=[parties.reader.public_key, parties.escrow.public_key],
        custodians=[parties.custodian.public_key, parties.escrow.public_key],
        routing=routing)
    assert crypto.open_in_custody(envelope, parties.escrow) == plaintext
    with pytest.raises(Unknown):
        crypto.open_in_custody(envelope, parties.reader)
    with pytest.raises(Unknown):
        crypto.open_in_custody(envelope, parties.custodian)
    released = Envelope(crypto.release(envelope.header, parties.custodian,
                                       parties.reader.public_key), envelope.body)
    assert crypto.open_in_custody(released, parties.reader) == plaintext
    preamble = crypto.read_body_preamble(io.BytesIO(envelope.body))
    assert preamble.routing == {**routing, "layer": "custody"}


def test_the_committed_vector_still_opens() -> None:
    """tests/crypto/vectors/custody.json: made once with crypto.seal_in_custody (the keys
    and plaintext are in the file); the format cannot drift silently."""
    vector = json.loads((VECTORS / "custody.json").read_text())
    envelope = Envelope(bytes.fromhex(vector["header"]), bytes.fromhex(vector["body"]))
    escrow = PrivateKey.from_raw(bytes.fromhex(vector["escrow"]))
    custodian = PrivateKey.from_raw(bytes.fromhex(vector["custodian"]))
    reader = PrivateKey.from_raw(bytes.fromhex(vector["reader"]))
    plaintext = bytes.fromhex(vector["plaintext"])
    assert crypto.open_in_custody(envelope, escrow) == plaintext
    assert crypto.inner_key_ids(envelope, custodian) == (reader.key_id, escrow.key_id)
    with pytest.raises(Unknown):
        crypto.open_in_custody(envelope, reader)


def test_an_inner_header_of_another_envelope_is_refused_before_release(
        parties: Parties, sealed: Envelope) -> None:
    """A custodian checking whom the inner layer names (``inner_key_ids``) is not shown
    another envelope's reader list."""
    inner = crypto.open_outer(sealed, parties.custodian)
    foreign = crypto.open_outer(parties.seal(), parties.custodian).header
    forged = outer_of(frame(Envelope(foreign, inner.body)), [parties.custodian],
                      envelope_id=sealed.envelope_id)
    with pytest.raises(TamperedEnvelope):
        crypto.inner_key_ids(forged, parties.custodian)
