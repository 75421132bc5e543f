"""Property tests of envelopes: what crypto/FORMAT.md promises, checked on random inputs.

Every tampering test first checks that its tampering helper, applied as the identity
(same routing, same frame order, the entry put back unchanged, ...), still yields an
envelope that opens: so a rejection is caused by the tampering, never by a broken helper.

Small chunks (4 KiB, the minimum) keep multi-chunk envelopes cheap.
"""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Callable, Mapping

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import crypto
from crypto import (
    CryptoError,
    DecryptionError,
    Envelope,
    PrivateKey,
    TamperedEnvelope,
    UnknownRecipient,
    UnsupportedVersion,
)
from crypto.envelope import encode_routing, read_preamble
from crypto.recipients import RecipientHeader, parse_header

CHUNK = 4096
MAX_PLAINTEXT = 5 * CHUNK + 100
MAX_RECIPIENTS = 5

# Errors a tampered body may legitimately produce (all are CryptoError).
BODY_REJECTIONS = (DecryptionError, UnsupportedVersion)

# The keys are a stateless factory / fixed key pairs: sharing them across the examples
# of one test is intended, so the function-scoped-fixture health check does not apply.
PROPERTIES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FEW = settings(PROPERTIES, max_examples=15)

# Sizes around every layout edge: empty, the 1 KiB padding floor (L + 4 = 1024), chunk
# boundaries, and the largest size the strategies draw.
EDGE_SIZES = sorted(
    {0, 1, 2, 1019, 1020, 1021, 1024}
    | {n * CHUNK + d for n in range(1, 6) for d in (-1, 0, 1)}
    | {MAX_PLAINTEXT}
)
sizes = st.one_of(st.integers(0, MAX_PLAINTEXT), st.sampled_from(EDGE_SIZES))
multi_chunk_sizes = st.one_of(
    st.integers(CHUNK + 1, MAX_PLAINTEXT), st.sampled_from([s for s in EDGE_SIZES if s > CHUNK])
)
seeds = st.integers(0, 2**32 - 1)
routings = st.dictionaries(st.text(max_size=12), st.text(max_size=24), max_size=4)


def plaintext_of(size: int, seed: int) -> bytes:
    """Deterministic pseudo-random plaintext (cheaper than drawing it byte by byte)."""
    return random.Random(seed).randbytes(size)


# Plaintexts of any size the strategies above draw, and of more than one chunk.
plaintexts = st.builds(plaintext_of, sizes, seeds)
multi_chunk_plaintexts = st.builds(plaintext_of, multi_chunk_sizes, seeds)


def key_sets(least: int = 1) -> st.SearchStrategy[list[PrivateKey]]:
    """Lists of ``least`` to MAX_RECIPIENTS fresh recipient key pairs."""
    return st.integers(least, MAX_RECIPIENTS).map(
        lambda count: [PrivateKey.generate() for _ in range(count)])


def seal(
    plaintext: bytes, keys: list[PrivateKey], routing: Mapping[str, str] | None = None
) -> Envelope:
    return crypto.seal_bytes(
        plaintext, [k.public_key for k in keys], routing=routing, chunk_size=CHUNK
    )


def assert_opens(envelope: Envelope, key: PrivateKey, plaintext: bytes) -> None:
    opened_plaintext, opened = crypto.open_bytes(envelope, key)
    assert opened_plaintext == plaintext
    assert opened.plaintext_size == len(plaintext)


def assert_rejected(
    envelope: Envelope,
    key: PrivateKey,
    expected: type[BaseException] | tuple[type[BaseException], ...] = CryptoError,
) -> BaseException:
    """``open_bytes`` raises ``expected`` (a CryptoError), so no plaintext comes back."""
    with pytest.raises(expected) as info:
        crypto.open_bytes(envelope, key)
    assert isinstance(info.value, CryptoError)
    return info.value


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- body surgery -----------------------------------------------------------------------

_ROUTING_LEN_AT = 4 + 1 + 1 + 16  # magic, version, chunk_log2, envelope id
_ROUTING_AT = _ROUTING_LEN_AT + 2


def split_body(body: bytes) -> tuple[bytes, list[bytes]]:
    """Split a body into its preamble (with the secretstream header) and its frames.

    Each frame keeps its 4-byte length prefix, so any list of frames reassembles into a
    well-framed body with :func:`join_body`.
    """
    stream = io.BytesIO(body)
    read_preamble(stream)
    position = stream.tell()
    preamble = body[:position]
    frames = []
    while position < len(body):
        (size,) = struct.unpack_from(">I", body, position)
        frames.append(body[position : position + 4 + size])
        position += 4 + size
    assert position == len(body), "body does not split into whole frames"
    return preamble, frames


def join_body(preamble: bytes, frames: list[bytes]) -> bytes:
    return preamble + b"".join(frames)


def sealed_frames(plaintext: bytes, key: PrivateKey) -> tuple[Envelope, bytes, list[bytes]]:
    """An envelope sealed to ``key`` alone, and its body's preamble and frames."""
    envelope = seal(plaintext, [key])
    preamble, frames = split_body(envelope.body)
    return envelope, preamble, frames


def with_frames(envelope: Envelope, preamble: bytes, frames: list[bytes]) -> Envelope:
    """``envelope`` with its body reassembled from ``preamble`` and ``frames``."""
    return Envelope(envelope.header, join_body(preamble, frames))


def with_routing(body: bytes, routing: Mapping[str, str]) -> bytes:
    """The body with its routing fields replaced by ``routing``, canonically encoded."""
    (old_len,) = struct.unpack_from(">H", body, _ROUTING_LEN_AT)
    blob = encode_routing(routing)
    return (
        body[:_ROUTING_LEN_AT] + struct.pack(">H", len(blob)) + blob + body[_ROUTING_AT + old_len :]
    )


# --- header surgery ---------------------------------------------------------------------


def entry_index(header: bytes, key: PrivateKey) -> int:
    return parse_header(header).key_ids.index(key.key_id)


def entry_span(header: bytes, index: int) -> tuple[int, int]:
    """Byte range [start, end) of entry ``index`` in a serialised header."""
    parsed = parse_header(header)
    head_size = len(header) - sum(len(e.key_id) + len(e.sealed) for e in parsed.entries)
    entry_size = len(parsed.entries[0].key_id) + len(parsed.entries[0].sealed)
    start = head_size + index * entry_size
    return start, start + entry_size


def with_entry(header: bytes, index: int, replace: Callable[[bytes], bytes]) -> bytes:
    """The header with entry ``index``'s sealed bytes mapped through ``replace``."""
    parsed = parse_header(header)
    entries = list(parsed.entries)
    old = entries[index]
    entries[index] = type(old)(key_id=old.key_id, sealed=replace(old.sealed))
    return RecipientHeader(parsed.envelope_id, tuple(entries)).to_bytes()


# --- round trip -------------------------------------------------------------------------


@PROPERTIES
@given(plaintext=plaintexts, keys=key_sets(), routing=routings)
def test_every_recipient_opens_any_plaintext_and_routing_round_trips(
    make_key: Callable[[], PrivateKey],
    plaintext: bytes,
    keys: list[PrivateKey],
    routing: dict[str, str],
) -> None:
    envelope = seal(plaintext, keys, routing)

    assert crypto.header_key_ids(envelope.header) == tuple(k.key_id for k in keys)
    for key in keys:
        opened_plaintext, opened = crypto.open_bytes(envelope, key)
        assert opened_plaintext == plaintext
        assert opened.plaintext_size == len(plaintext)
        assert dict(opened.routing) == routing
        assert opened.envelope_id == envelope.envelope_id
    assert_rejected(envelope, make_key(), UnknownRecipient)


@FEW
@given(plaintext=plaintexts)
def test_streaming_round_trip_reports_the_sizes_written(
    reviewers: list[PrivateKey], plaintext: bytes
) -> None:
    body = io.BytesIO()
    sealed = crypto.seal_stream(
        io.BytesIO(plaintext), body, [k.public_key for k in reviewers], chunk_size=CHUNK
    )
    assert sealed.plaintext_size == len(plaintext)
    assert sealed.body_size == len(body.getvalue())
    out = io.BytesIO()
    opened = crypto.open_stream(sealed.header, io.BytesIO(body.getvalue()), out, reviewers[0])
    assert out.getvalue() == plaintext
    assert opened.plaintext_size == len(plaintext)


# --- bit flips in the body --------------------------------------------------------------


@PROPERTIES
@given(plaintext=plaintexts, routing=routings, data=st.data())
def test_every_single_bit_flip_in_the_body_is_rejected(
    reviewers: list[PrivateKey],
    plaintext: bytes,
    routing: dict[str, str],
    data: st.DataObject,
) -> None:
    envelope = seal(plaintext, reviewers, routing)
    bit = data.draw(st.integers(0, 8 * len(envelope.body) - 1), label="bit")
    tampered = Envelope(envelope.header, flip_bit(envelope.body, bit))
    for key in reviewers:
        assert_rejected(tampered, key, BODY_REJECTIONS)


def test_every_single_bit_flip_in_a_small_body_is_rejected_exhaustively(
    reviewers: list[PrivateKey],
) -> None:
    plaintext = b"a short report"
    envelope = seal(plaintext, reviewers[:1], {"unit": "hr"})
    assert 1000 < len(envelope.body) < 1300  # one padded chunk plus the FINAL chunk
    assert_opens(envelope, reviewers[0], plaintext)
    for bit in range(8 * len(envelope.body)):
        tampered = Envelope(envelope.header, flip_bit(envelope.body, bit))
        assert_rejected(tampered, reviewers[0], BODY_REJECTIONS)


# --- bit flips in the header ------------------------------------------------------------


def _check_header_flip(
    envelope: Envelope, keys: list[PrivateKey], plaintext: bytes, bit: int
) -> None:
    """A flip in the fixed part or in a recipient's own entry locks that recipient out;
    a flip in someone else's entry changes nothing for it. Never wrong plaintext."""
    tampered = Envelope(flip_bit(envelope.header, bit), envelope.body)
    byte = bit // 8
    for index, key in enumerate(keys):
        start, end = entry_span(envelope.header, index)
        first_entry, _ = entry_span(envelope.header, 0)
        if byte < first_entry or start <= byte < end:
            assert_rejected(tampered, key)
        else:
            assert_opens(tampered, key, plaintext)


@PROPERTIES
@given(keys=key_sets(), plaintext=plaintexts, data=st.data())
def test_a_single_bit_flip_in_the_header_never_yields_wrong_plaintext(
    keys: list[PrivateKey],
    plaintext: bytes,
    data: st.DataObject,
) -> None:
    envelope = seal(plaintext, keys)
    bit = data.draw(st.integers(0, 8 * len(envelope.header) - 1), label="bit")
    _check_header_flip(envelope, keys, plaintext, bit)


def test_every_single_bit_flip_in_a_header_only_affects_its_own_recipient_exhaustively(
    reviewers: list[PrivateKey],
) -> None:
    plaintext = b"x" * 100
    envelope = seal(plaintext, reviewers)
    for bit in range(8 * len(envelope.header)):
        _check_header_flip(envelope, reviewers, plaintext, bit)


# --- truncation and extension -----------------------------------------------------------


@PROPERTIES
@given(plaintext=plaintexts, data=st.data())
def test_any_truncation_of_the_body_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    envelope = seal(plaintext, reviewers[:1])
    cut = data.draw(st.integers(0, len(envelope.body) - 1), label="kept bytes")
    assert_rejected(Envelope(envelope.header, envelope.body[:cut]), reviewers[0], TamperedEnvelope)


def test_every_truncation_of_a_multi_chunk_body_is_rejected(
    reviewers: list[PrivateKey],
) -> None:
    plaintext = plaintext_of(CHUNK + 1000, seed=1)
    envelope = seal(plaintext, reviewers[:1])
    _, frames = split_body(envelope.body)
    assert len(frames) == 3  # full DATA, BOUNDARY, FINAL
    for cut in range(len(envelope.body)):
        truncated = Envelope(envelope.header, envelope.body[:cut])
        assert_rejected(truncated, reviewers[0], TamperedEnvelope)


@PROPERTIES
@given(plaintext=plaintexts, suffix=st.binary(min_size=1, max_size=CHUNK + 64))
def test_any_extension_of_the_body_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, suffix: bytes
) -> None:
    envelope = seal(plaintext, reviewers[:1])
    extended = Envelope(envelope.header, envelope.body + suffix)
    assert_rejected(extended, reviewers[0], TamperedEnvelope)


@FEW
@given(plaintext=plaintexts, data=st.data())
def test_appending_a_valid_frame_from_the_same_body_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    envelope, preamble, frames = sealed_frames(plaintext, reviewers[0])
    extra = data.draw(st.sampled_from(frames), label="appended frame")
    extended = with_frames(envelope, preamble, [*frames, extra])
    assert_rejected(extended, reviewers[0], TamperedEnvelope)


# --- chunk reorder, drop, duplication ---------------------------------------------------


@PROPERTIES
@given(plaintext=multi_chunk_plaintexts, data=st.data())
def test_any_reordering_of_chunks_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    envelope, preamble, frames = sealed_frames(plaintext, reviewers[0])
    assert join_body(preamble, frames) == envelope.body
    order = data.draw(st.permutations(range(len(frames))), label="order")
    assume(order != list(range(len(frames))))
    reordered = with_frames(envelope, preamble, [frames[i] for i in order])
    assert_rejected(reordered, reviewers[0], TamperedEnvelope)


@PROPERTIES
@given(plaintext=plaintexts, data=st.data())
def test_dropping_any_chunk_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    envelope, preamble, frames = sealed_frames(plaintext, reviewers[0])
    drop = data.draw(st.integers(0, len(frames) - 1), label="dropped frame")
    shortened = with_frames(envelope, preamble, frames[:drop] + frames[drop + 1 :])
    assert_rejected(shortened, reviewers[0], TamperedEnvelope)


@PROPERTIES
@given(plaintext=plaintexts, data=st.data())
def test_duplicating_any_chunk_anywhere_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    envelope, preamble, frames = sealed_frames(plaintext, reviewers[0])
    source = data.draw(st.integers(0, len(frames) - 1), label="duplicated frame")
    at = data.draw(st.integers(0, len(frames)), label="inserted at")
    duplicated = with_frames(envelope, preamble, [*frames[:at], frames[source], *frames[at:]])
    assert_rejected(duplicated, reviewers[0], TamperedEnvelope)


def test_chunk_surgery_is_rejected_exhaustively_on_a_several_chunk_body(
    reviewers: list[PrivateKey],
) -> None:
    key = reviewers[0]
    envelope, preamble, frames = sealed_frames(plaintext_of(3 * CHUNK + 10, seed=2), key)
    assert len(frames) >= 5  # 3 DATA, BOUNDARY, padding, FINAL
    for i in range(len(frames)):
        dropped = frames[:i] + frames[i + 1 :]
        assert_rejected(with_frames(envelope, preamble, dropped), key)
        for j in range(len(frames)):
            if i != j:
                swapped = list(frames)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert_rejected(with_frames(envelope, preamble, swapped), key)
        for at in range(len(frames) + 1):
            duplicated = [*frames[:at], frames[i], *frames[at:]]
            assert_rejected(with_frames(envelope, preamble, duplicated), key)


# --- mixing two envelopes ---------------------------------------------------------------


@PROPERTIES
@given(size_a=sizes, size_b=sizes, seed=seeds)
def test_the_header_of_one_envelope_does_not_open_the_body_of_another(
    reviewers: list[PrivateKey], size_a: int, size_b: int, seed: int
) -> None:
    a = seal(plaintext_of(size_a, seed), reviewers)
    b = seal(plaintext_of(size_b, seed + 1), reviewers)
    for key in reviewers:
        assert_rejected(Envelope(a.header, b.body), key, TamperedEnvelope)
        assert_rejected(Envelope(b.header, a.body), key, TamperedEnvelope)


@PROPERTIES
@given(plaintext=multi_chunk_plaintexts, routing=routings, data=st.data())
def test_a_chunk_spliced_in_from_another_envelope_is_rejected(
    reviewers: list[PrivateKey],
    plaintext: bytes,
    routing: dict[str, str],
    data: st.DataObject,
) -> None:
    # Same recipients, same routing, same plaintext length (same frame sizes), and even
    # the same plaintext: only the content key and envelope id differ.
    a = seal(plaintext, reviewers, routing)
    b = seal(plaintext, reviewers, routing)
    preamble_a, frames_a = split_body(a.body)
    _, frames_b = split_body(b.body)
    assert [len(f) for f in frames_a] == [len(f) for f in frames_b]
    i = data.draw(st.integers(0, len(frames_a) - 1), label="spliced frame")
    spliced = [*frames_a[:i], frames_b[i], *frames_a[i + 1 :]]
    assert_opens(Envelope(a.header, join_body(preamble_a, frames_a)), reviewers[0], plaintext)
    for key in reviewers:
        assert_rejected(Envelope(a.header, join_body(preamble_a, spliced)), key, TamperedEnvelope)


def test_a_content_key_is_bound_to_its_envelope_id(reviewers: list[PrivateKey]) -> None:
    envelope = seal(b"report", reviewers[:1])
    content_key = crypto.open_content_key(envelope.header, reviewers[0])
    out = io.BytesIO()
    crypto.decrypt_body(io.BytesIO(envelope.body), out, content_key)
    assert out.getvalue() == b"report"
    # The right key bytes presented for another envelope id are refused.
    other_id = flip_bit(content_key.envelope_id, 0)
    wrong_id = crypto.ContentKey(other_id, content_key.raw_bytes())
    with pytest.raises(TamperedEnvelope):
        crypto.decrypt_body(io.BytesIO(envelope.body), io.BytesIO(), wrong_id)


def test_the_preamble_of_another_envelope_is_rejected(reviewers: list[PrivateKey]) -> None:
    plaintext = b"same text"
    a = seal(plaintext, reviewers)
    b = seal(plaintext, reviewers)
    preamble_a, frames_a = split_body(a.body)
    preamble_b, frames_b = split_body(b.body)
    for key in reviewers:
        assert_rejected(Envelope(a.header, join_body(preamble_b, frames_a)), key, TamperedEnvelope)
        assert_rejected(Envelope(b.header, join_body(preamble_a, frames_b)), key, TamperedEnvelope)


@PROPERTIES
@given(plaintext=plaintexts, data=st.data())
def test_a_recipient_entry_copied_from_another_envelope_is_rejected(
    reviewers: list[PrivateKey], plaintext: bytes, data: st.DataObject
) -> None:
    a = seal(plaintext, reviewers)
    b = seal(plaintext, reviewers)
    victim = data.draw(st.integers(0, len(reviewers) - 1), label="recipient")
    key = reviewers[victim]
    entry_from_a = parse_header(a.header).entries[entry_index(a.header, key)].sealed
    index_in_b = entry_index(b.header, key)
    assert with_entry(b.header, index_in_b, lambda sealed: sealed) == b.header

    forged = Envelope(with_entry(b.header, index_in_b, lambda _: entry_from_a), b.body)
    assert crypto.header_key_ids(forged.header) == crypto.header_key_ids(b.header)
    assert_rejected(forged, key, TamperedEnvelope)
    # Refused by the header itself (the entry seals A's id), not only by B's body.
    with pytest.raises(TamperedEnvelope):
        crypto.open_content_key(forged.header, key)
    for other in reviewers:
        if other is not key:
            assert_opens(forged, other, plaintext)


# --- corrupted recipient entries --------------------------------------------------------


@PROPERTIES
@given(keys=key_sets(least=2), plaintext=plaintexts, data=st.data())
def test_a_corrupted_recipient_entry_locks_out_only_its_own_recipient(
    keys: list[PrivateKey],
    plaintext: bytes,
    data: st.DataObject,
) -> None:
    envelope = seal(plaintext, keys)
    victim = data.draw(st.integers(0, len(keys) - 1), label="recipient")
    sealed_bits = 8 * len(parse_header(envelope.header).entries[victim].sealed)
    bit = data.draw(st.integers(0, sealed_bits - 1), label="bit")

    corrupted = Envelope(
        with_entry(envelope.header, victim, lambda sealed: flip_bit(sealed, bit)), envelope.body
    )
    assert_rejected(corrupted, keys[victim], TamperedEnvelope)
    for index, key in enumerate(keys):
        if index != victim:
            assert_opens(corrupted, key, plaintext)


# --- routing fields ---------------------------------------------------------------------


@PROPERTIES
@given(routing=routings, edited=routings, plaintext=plaintexts)
def test_editing_the_routing_fields_is_rejected(
    reviewers: list[PrivateKey],
    routing: dict[str, str],
    edited: dict[str, str],
    plaintext: bytes,
) -> None:
    assume(edited != routing)
    envelope = seal(plaintext, reviewers, routing)
    assert with_routing(envelope.body, routing) == envelope.body
    reencoded = io.BytesIO(with_routing(envelope.body, edited))
    preamble, _ = read_preamble(reencoded)  # well formed and canonical: only the AEAD stops it
    assert dict(preamble.routing) == edited

    forged = Envelope(envelope.header, with_routing(envelope.body, edited))
    for key in reviewers:
        assert_rejected(forged, key, TamperedEnvelope)


@pytest.mark.parametrize(
    "blob",
    [
        b'{"unit": "hr"}',  # not compact
        b'{"b":"1","a":"2"}',  # not sorted
        b'{"unit":"\\u00e5"}',  # ASCII-escaped
        b'{"unit":"hr","unit":"hr"}',  # duplicate key
        b'["unit"]',
        b'{"unit":1}',
        b"\xff",
    ],
)
def test_non_canonical_or_malformed_routing_fields_are_rejected(
    reviewers: list[PrivateKey], blob: bytes
) -> None:
    envelope = seal(b"report", reviewers[:1], {"unit": "hr"})
    (old_len,) = struct.unpack_from(">H", envelope.body, _ROUTING_LEN_AT)
    body = (
        envelope.body[:_ROUTING_LEN_AT]
        + struct.pack(">H", len(blob))
        + blob
        + envelope.body[_ROUTING_AT + old_len :]
    )
    assert_rejected(Envelope(envelope.header, body), reviewers[0], TamperedEnvelope)


# --- recipients: add, remove, rekey -----------------------------------------------------


@FEW
@given(plaintext=plaintexts)
def test_an_added_recipient_opens_and_a_removed_one_is_unknown(
    reviewers: list[PrivateKey], make_key: Callable[[], PrivateKey], plaintext: bytes
) -> None:
    envelope = seal(plaintext, reviewers)
    newcomer = make_key()
    assert_rejected(envelope, newcomer, UnknownRecipient)

    content_key = crypto.open_content_key(envelope.header, reviewers[0])
    added = Envelope(
        crypto.add_recipient(envelope.header, content_key, newcomer.public_key), envelope.body
    )
    assert added.envelope_id == envelope.envelope_id
    for key in [*reviewers, newcomer]:
        assert_opens(added, key, plaintext)
    assert crypto.add_recipient(added.header, content_key, newcomer.public_key) == added.header

    removed = Envelope(crypto.remove_recipient(added.header, reviewers[1].key_id), envelope.body)
    assert reviewers[1].key_id not in crypto.header_key_ids(removed.header)
    assert_rejected(removed, reviewers[1], UnknownRecipient)
    for key in [reviewers[0], reviewers[2], newcomer]:
        assert_opens(removed, key, plaintext)


@FEW
@given(plaintext=plaintexts, routing=routings, data=st.data())
def test_rekey_to_a_smaller_set_revokes_the_old_content_key(
    make_key: Callable[[], PrivateKey],
    plaintext: bytes,
    routing: dict[str, str],
    data: st.DataObject,
) -> None:
    keys = [make_key() for _ in range(4)]
    old = seal(plaintext, keys, routing)
    kept = data.draw(
        st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique_by=lambda k: k.key_id),
        label="kept recipients",
    )
    revoked = [k for k in keys if k not in kept]
    assert revoked
    # What the revoked reviewers could have kept from when they had access.
    old_content_keys = {id(k): crypto.open_content_key(old.header, k) for k in revoked}

    new_body = io.BytesIO()
    rekeyed = crypto.rekey(
        old.header, io.BytesIO(old.body), new_body, kept[0], [k.public_key for k in kept]
    )
    new = Envelope(rekeyed.header, new_body.getvalue())
    assert rekeyed.envelope_id == old.envelope_id == new.envelope_id
    assert rekeyed.plaintext_size == len(plaintext)
    assert rekeyed.body_size == len(new.body)
    assert len(new.body) == len(old.body)  # same envelope id, routing and padded length
    assert new.body != old.body
    assert crypto.header_key_ids(new.header) == tuple(k.key_id for k in kept)

    for key in kept:
        opened_plaintext, opened = crypto.open_bytes(new, key)
        assert opened_plaintext == plaintext
        assert dict(opened.routing) == routing
    for key in revoked:
        assert_rejected(new, key, UnknownRecipient)
        with pytest.raises(TamperedEnvelope):
            crypto.decrypt_body(io.BytesIO(new.body), io.BytesIO(), old_content_keys[id(key)])
        # The old header, which still lists them, does not open the new body either.
        assert_rejected(Envelope(old.header, new.body), key, TamperedEnvelope)
    for key in kept:
        assert_rejected(Envelope(old.header, new.body), key, TamperedEnvelope)
    assert_rejected(new, make_key(), UnknownRecipient)


def test_rekey_refuses_a_tampered_old_body(reviewers: list[PrivateKey]) -> None:
    old = seal(plaintext_of(2 * CHUNK + 5, seed=3), reviewers)
    preamble, frames = split_body(old.body)
    for tampered in (
        join_body(preamble, frames[:-1]),
        old.body + b"\x00",
        flip_bit(old.body, 8 * (len(old.body) - 1)),
    ):
        with pytest.raises(TamperedEnvelope):
            crypto.rekey(
                old.header,
                io.BytesIO(tampered),
                io.BytesIO(),
                reviewers[0],
                [reviewers[0].public_key],
            )


def test_rekey_needs_a_current_recipient(
    reviewers: list[PrivateKey], make_key: Callable[[], PrivateKey]
) -> None:
    old = seal(b"report", reviewers)
    outsider = make_key()
    with pytest.raises(UnknownRecipient):
        crypto.rekey(
            old.header, io.BytesIO(old.body), io.BytesIO(), outsider, [outsider.public_key]
        )


# --- padding ----------------------------------------------------------------------------


def _lowest_size_with_same_padding(size: int) -> int:
    """The smallest plaintext length padded like ``size`` (padded_size is monotone)."""
    target = crypto.padded_size(size + 4)
    low, high = 0, size
    while low < high:
        middle = (low + high) // 2
        if crypto.padded_size(middle + 4) == target:
            high = middle
        else:
            low = middle + 1
    return low


@PROPERTIES
@given(size=sizes, routing=routings, data=st.data())
def test_body_framing_depends_only_on_the_padded_size(
    reviewers: list[PrivateKey], size: int, routing: dict[str, str], data: st.DataObject
) -> None:
    padded = crypto.padded_size(size + 4)
    other = data.draw(
        st.integers(_lowest_size_with_same_padding(size), padded - 4), label="other size"
    )
    assert crypto.padded_size(other + 4) == padded
    a = seal(plaintext_of(size, 1), reviewers[:1], routing)
    b = seal(plaintext_of(other, 2), reviewers[:1], routing)
    assert len(a.body) == len(b.body)
    # Not just the total: every frame has the same length, so framing reveals only T.
    preamble_a, frames_a = split_body(a.body)
    preamble_b, frames_b = split_body(b.body)
    assert len(preamble_a) == len(preamble_b)
    assert [len(f) for f in frames_a] == [len(f) for f in frames_b]
    # Every chunk but the last two carries a full chunk of plaintext.
    full_frame = 4 + CHUNK + 17
    assert all(len(f) == full_frame for f in frames_a[:-2])
    assert len(frames_a[-1]) == 4 + 4 + 17  # FINAL: the 4-byte trailer


@PROPERTIES
@given(size=sizes, routing=routings)
def test_body_length_is_the_documented_function_of_the_padded_size(
    reviewers: list[PrivateKey], size: int, routing: dict[str, str]
) -> None:
    envelope = seal(plaintext_of(size, 0), reviewers[:1], routing)
    total = crypto.padded_size(size + 4)  # T: padded payload plus the 4-byte trailer
    payload = total - 4
    chunks = -(-payload // CHUNK) + 1  # payload pieces, then FINAL
    preamble = 24 + len(encode_routing(routing)) + 24
    assert len(envelope.body) == preamble + chunks * (4 + 17) + total


def test_body_length_never_shrinks_as_the_plaintext_grows(reviewers: list[PrivateKey]) -> None:
    lengths = list(range(0, 2 * CHUNK + 300, 97)) + EDGE_SIZES
    body_sizes = {n: len(seal(bytes(n), reviewers[:1]).body) for n in sorted(set(lengths))}
    ordered = [body_sizes[n] for n in sorted(body_sizes)]
    assert ordered == sorted(ordered)
    assert all(body_sizes[n] > n for n in body_sizes)
    # Short plaintexts all look alike: everything up to the 1 KiB floor pads the same.
    assert body_sizes[0] == body_sizes[1] == body_sizes[1020]
    assert body_sizes[1021] > body_sizes[1020]


@settings(max_examples=500, deadline=None)
@given(length=st.integers(0, 2**48))
def test_padme_never_shrinks_and_is_idempotent(length: int) -> None:
    padded = crypto.padme(length)
    assert padded >= length
    assert crypto.padme(padded) == padded
    assert crypto.padded_size(length) >= max(length, 1024)


@settings(max_examples=500, deadline=None)
@given(length=st.integers(1024, 2**48))
def test_padme_overhead_is_at_most_twelve_percent_from_1_kib(length: int) -> None:
    assert (crypto.padme(length) - length) / length <= 0.12


@settings(max_examples=500, deadline=None)
@given(a=st.integers(0, 2**40), b=st.integers(0, 2**40))
def test_padme_is_monotone(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert crypto.padme(low) <= crypto.padme(high)


def test_padme_overhead_bound_holds_for_every_length_up_to_1_mib() -> None:
    assert all(crypto.padme(n) - n <= 0.12 * n for n in range(1024, 1 << 20))
    assert all(crypto.padme(n) >= n for n in range(1024))
