"""Envelopes: sealing, opening, recipients, rekey, and refusing bad input."""

from __future__ import annotations

import io
import os

import pytest

import crypto
from crypto import PrivateKey


def test_round_trip_for_every_recipient(reviewers: list[PrivateKey]) -> None:
    plaintext = os.urandom(200_000)
    envelope = crypto.seal_bytes(plaintext, [r.public_key for r in reviewers],
                                 routing={"unit": "etik", "kind": "file"})
    for reviewer in reviewers:
        opened_plaintext, opened = crypto.open_bytes(envelope, reviewer)
        assert opened_plaintext == plaintext
        assert opened.routing == {"unit": "etik", "kind": "file"}
        assert opened.plaintext_size == len(plaintext)


def test_non_recipient_is_told_it_is_not_a_recipient(
    reviewers: list[PrivateKey], make_key: type[PrivateKey]
) -> None:
    envelope = crypto.seal_bytes(b"report", [reviewers[0].public_key])
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(envelope, make_key())


def test_envelope_ids_are_random_and_in_both_parts(reviewers: list[PrivateKey]) -> None:
    first = crypto.seal_bytes(b"a", [reviewers[0].public_key])
    second = crypto.seal_bytes(b"a", [reviewers[0].public_key])
    assert first.envelope_id != second.envelope_id
    assert first.body[6:22] == first.envelope_id


def test_duplicate_recipients_are_sealed_once(reviewers: list[PrivateKey]) -> None:
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key] * 3)
    assert crypto.header_key_ids(envelope.header) == (reviewers[0].key_id,)


def test_sealing_to_nobody_is_refused() -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.seal_bytes(b"x", [])


@pytest.mark.parametrize("chunk_size", [1000, 2048, 8 * 1024 * 1024, 3 * 4096])
def test_invalid_chunk_sizes_are_refused(reviewers: list[PrivateKey], chunk_size: int) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.seal_bytes(b"x", [reviewers[0].public_key], chunk_size=chunk_size)


def test_oversized_routing_fields_are_refused(reviewers: list[PrivateKey]) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.seal_bytes(b"x", [reviewers[0].public_key], routing={"k": "v" * 5000})


def test_small_plaintexts_are_padded_to_the_same_size(reviewers: list[PrivateKey]) -> None:
    sizes = {len(crypto.seal_bytes(os.urandom(n), [reviewers[0].public_key]).body)
             for n in (0, 1, 10, 500, 1000)}
    assert len(sizes) == 1


def test_streaming_reads_from_a_source_that_returns_short_reads(
    reviewers: list[PrivateKey],
) -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = data

        def read(self, size: int = -1) -> bytes:
            take = min(7, size) if size >= 0 else 7
            piece, self._data = self._data[:take], self._data[take:]
            return piece

    plaintext = os.urandom(50_000)
    out = io.BytesIO()
    sealed = crypto.seal_stream(Trickle(plaintext), out, [reviewers[0].public_key],
                                chunk_size=4096)
    assert sealed.plaintext_size == len(plaintext)
    assert sealed.body_size == len(out.getvalue())
    plain = io.BytesIO()
    crypto.open_stream(sealed.header, io.BytesIO(out.getvalue()), plain, reviewers[0])
    assert plain.getvalue() == plaintext


def test_added_recipient_opens_without_the_body_changing(reviewers: list[PrivateKey]) -> None:
    first, second = reviewers[:2]
    envelope = crypto.seal_bytes(b"case file", [first.public_key])
    content_key = crypto.open_content_key(envelope.header, first)
    header = crypto.add_recipient(envelope.header, content_key, second.public_key)
    plaintext, _ = crypto.open_bytes(crypto.Envelope(header, envelope.body), second)
    assert plaintext == b"case file"
    assert crypto.add_recipient(header, content_key, second.public_key) == header


def test_content_key_of_another_envelope_cannot_add_recipients(
    reviewers: list[PrivateKey],
) -> None:
    a = crypto.seal_bytes(b"a", [reviewers[0].public_key])
    b = crypto.seal_bytes(b"b", [reviewers[0].public_key])
    with pytest.raises(crypto.CryptoError):
        crypto.add_recipient(a.header, crypto.open_content_key(b.header, reviewers[0]),
                             reviewers[1].public_key)


def test_removed_recipient_is_unknown_and_last_one_cannot_be_removed(
    reviewers: list[PrivateKey],
) -> None:
    first, second = reviewers[:2]
    envelope = crypto.seal_bytes(b"x", [first.public_key, second.public_key])
    header = crypto.remove_recipient(envelope.header, second.key_id)
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(crypto.Envelope(header, envelope.body), second)
    with pytest.raises(crypto.UnknownRecipient):
        crypto.remove_recipient(header, second.key_id)
    with pytest.raises(crypto.CryptoError):
        crypto.remove_recipient(header, first.key_id)


def test_rekey_revokes_a_removed_recipient_who_kept_the_old_key(
    reviewers: list[PrivateKey],
) -> None:
    keeper, leaver = reviewers[:2]
    plaintext = os.urandom(70_000)
    envelope = crypto.seal_bytes(plaintext, [keeper.public_key, leaver.public_key],
                                 routing={"unit": "akt"})
    old_key = crypto.open_content_key(envelope.header, leaver)

    out = io.BytesIO()
    sealed = crypto.rekey(envelope.header, io.BytesIO(envelope.body), out, keeper,
                          [keeper.public_key])
    new = crypto.Envelope(sealed.header, out.getvalue())
    assert new.envelope_id == envelope.envelope_id
    assert crypto.open_bytes(new, keeper) == (plaintext, crypto.open_bytes(new, keeper)[1])
    assert crypto.open_bytes(new, keeper)[1].routing == {"unit": "akt"}
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(new, leaver)
    with pytest.raises(crypto.TamperedEnvelope):
        crypto.decrypt_body(io.BytesIO(new.body), io.BytesIO(), old_key)
    with pytest.raises(crypto.TamperedEnvelope):
        crypto.open_bytes(crypto.Envelope(envelope.header, new.body), leaver)


def test_rekey_by_a_non_recipient_is_refused(reviewers: list[PrivateKey]) -> None:
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key])
    with pytest.raises(crypto.UnknownRecipient):
        crypto.rekey(envelope.header, io.BytesIO(envelope.body), io.BytesIO(), reviewers[1],
                     [reviewers[1].public_key])


@pytest.mark.parametrize(
    "garbage",
    [b"", b"LYKB", b"LYKB\x01\x10" + b"\x00" * 18, b"NOPE" + b"\x00" * 200,
     b"LYKB\x02\x10" + b"\x00" * 100, b"LYKB\x01\x40" + b"\x00" * 100],
)
def test_malformed_bodies_are_refused_cleanly(reviewers: list[PrivateKey], garbage: bytes) -> None:
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key])
    with pytest.raises(crypto.CryptoError):
        crypto.open_bytes(crypto.Envelope(envelope.header, garbage), reviewers[0])


@pytest.mark.parametrize("garbage", [b"", b"LYKH", b"LYKH\x01" + b"\x00" * 18, b"x" * 500])
def test_malformed_headers_are_refused_cleanly(reviewers: list[PrivateKey], garbage: bytes) -> None:
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key])
    with pytest.raises(crypto.CryptoError):
        crypto.open_bytes(crypto.Envelope(garbage, envelope.body), reviewers[0])


def test_a_forged_huge_frame_length_is_refused_before_reading(
    reviewers: list[PrivateKey],
) -> None:
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key])
    body = bytearray(envelope.body)
    start = 4 + 1 + 1 + 16 + 2 + 2 + 24  # preamble with empty routing "{}"
    body[start : start + 4] = (0xFFFFFFF0).to_bytes(4, "big")
    with pytest.raises(crypto.TamperedEnvelope):
        crypto.open_bytes(crypto.Envelope(envelope.header, bytes(body)), reviewers[0])


def test_a_source_returning_more_than_asked_is_refused(reviewers: list[PrivateKey]) -> None:
    class Greedy:
        def read(self, size: int = -1) -> bytes:
            return b"z" * (size + 1)

    with pytest.raises(crypto.CryptoError):
        crypto.seal_stream(Greedy(), io.BytesIO(), [reviewers[0].public_key])


def test_a_body_read_in_small_pieces_opens(reviewers: list[PrivateKey]) -> None:
    # Pipes and sockets return short reads; that is not truncation.
    class ShortReads:
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._inner.read(min(size, 1000) if size >= 0 else 1000)

    plaintext = os.urandom(10_000)
    envelope = crypto.seal_bytes(plaintext, [reviewers[0].public_key], chunk_size=4096)
    out = io.BytesIO()
    crypto.open_stream(envelope.header, ShortReads(envelope.body), out, reviewers[0])
    assert out.getvalue() == plaintext


def test_routing_with_a_lone_surrogate_is_refused_cleanly(reviewers: list[PrivateKey]) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.seal_bytes(b"x", [reviewers[0].public_key], routing={"n": "\ud800"})


def test_tampered_routing_decoding_to_a_lone_surrogate_is_tampering(
    reviewers: list[PrivateKey],
) -> None:
    envelope = crypto.seal_bytes(b"hi", [reviewers[0].public_key], routing={"n": "\\ud800"})
    body = bytearray(envelope.body)
    body[envelope.body.index(b"\\\\ud800")] ^= 1  # turns the escaped backslash into "]"
    with pytest.raises(crypto.TamperedEnvelope):
        crypto.open_bytes(crypto.Envelope(envelope.header, bytes(body)), reviewers[0])


@pytest.mark.parametrize("pieces", [[1] * 50, [4095, 1, 4096, 4097], [4096, 4096], [0, 9000]])
def test_envelope_writer_accepts_any_write_sizes(
    reviewers: list[PrivateKey], pieces: list[int]
) -> None:
    plaintext = os.urandom(sum(pieces))
    out = io.BytesIO()
    writer = crypto.EnvelopeWriter(out, [reviewers[0].public_key], chunk_size=4096)
    pos = 0
    for size in pieces:
        writer.write(plaintext[pos : pos + size])
        pos += size
    sealed = writer.close()
    assert sealed.plaintext_size == len(plaintext)
    # The same plaintext sealed in one go has the same body layout (sizes).
    assert sealed.body_size == len(crypto.seal_bytes(plaintext, [reviewers[0].public_key],
                                                     chunk_size=4096).body)
    assert crypto.open_bytes(crypto.Envelope(sealed.header, out.getvalue()),
                             reviewers[0])[0] == plaintext
    with pytest.raises(crypto.CryptoError):
        writer.write(b"late")


def test_readdress_moves_an_envelope_to_new_readers_without_the_old_key(
    reviewers: list[PrivateKey],
) -> None:
    spool_key, reader = reviewers[0], reviewers[1]
    envelope = crypto.seal_bytes(b"upload", [spool_key.public_key])
    header = crypto.readdress(envelope.header, spool_key, [reader.public_key])
    moved = crypto.Envelope(header, envelope.body)
    assert crypto.open_bytes(moved, reader)[0] == b"upload"
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(moved, spool_key)
