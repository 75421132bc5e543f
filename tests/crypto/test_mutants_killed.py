"""Tests written to kill the mutants that survived the first mutation run of crypto/.

Each test pins a bound, an error path or a detail that the rest of the suite let slide
(bench/results/mutation.md lists the survivors and why the rest do not matter). They are
cheap: INSECURE_FAST Argon2 parameters, small bodies, and no production-cost work.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
from collections.abc import Iterator

import nacl.bindings as sodium
import pytest

import crypto
from crypto import Argon2Params, CryptoError, MemoryReplayCache, PrivateKey, SigningKey
from crypto import signing as signing_module
from crypto.baseline import ABYTES, raw_pull, raw_push
from crypto.body import MAX_ROUTING_BYTES, BodyWriter, Preamble, encode_routing, read_preamble
from crypto.kdf import derive_key
from crypto.keys import WRAPPED_KEY_BYTES
from crypto.receipt import MAX_INPUT_CHARS
from crypto.recipients import (
    _ENTRY_BYTES as ENTRY_BYTES,
)
from crypto.recipients import (
    MAX_RECIPIENTS,
    ContentKey,
    RecipientEntry,
    RecipientHeader,
    build_header,
    parse_header,
)
from crypto.sealed_secret import MAX_PLAINTEXT as MAX_SECRET
from crypto.streams import IteratorReader, read_full

# --- kdf: the bounds on Argon2 parameters read back from storage ------------------------


@pytest.mark.parametrize(
    ("t", "m", "p"),
    [(1, 8, 1), (16, 8, 1), (1, 1024 * 1024, 1), (1, 128, 16), (2, 16, 2)],
)
def test_argon2_parameters_at_their_bounds_are_accepted(t: int, m: int, p: int) -> None:
    params = Argon2Params(t, m, p)
    assert Argon2Params.from_dict(params.to_dict()) == params


@pytest.mark.parametrize(
    ("t", "m", "p"),
    [(0, 8, 1), (17, 8, 1), (1, 7, 1), (1, 1024 * 1024 + 1, 1), (1, 136, 0), (1, 136, 17),
     (1, 15, 2)],
)
def test_argon2_parameters_past_their_bounds_are_refused(t: int, m: int, p: int) -> None:
    # Refused by the parameters themselves, not only later by a failing decryption: an
    # unbounded time or memory cost read from a tampered record is a denial of service.
    with pytest.raises(CryptoError):
        Argon2Params(t, m, p)


@pytest.mark.parametrize("raw", [{}, {"t": 1, "m": 8}, {"t": "x", "m": 8, "p": 1}, None])
def test_malformed_stored_parameters_are_refused(raw: object) -> None:
    with pytest.raises(CryptoError):
        Argon2Params.from_dict(raw)  # type: ignore[arg-type]


def test_out_of_range_stored_parameters_are_refused_before_any_derivation(
    out_of_range_wrapped_key: bytes,
) -> None:
    with pytest.raises(crypto.WrongPassphrase):
        crypto.inspect_wrapped_key(out_of_range_wrapped_key)


def test_salts_of_eight_bytes_are_the_shortest_accepted(argon2_params: Argon2Params) -> None:
    assert len(derive_key(b"secret", b"s" * 8, argon2_params)) == 32
    with pytest.raises(CryptoError):
        derive_key(b"secret", b"s" * 7, argon2_params)


# --- keys and passwords: the chosen parameters are the ones used ------------------------


def test_rewrap_uses_the_parameters_it_is_given(reviewers: list[PrivateKey]) -> None:
    cheap = Argon2Params(time_cost=2, memory_kib=16, parallelism=1)
    wrapped = crypto.wrap_private_key(reviewers[0], "old", crypto.INSECURE_FAST)
    rewrapped = crypto.rewrap_private_key(wrapped, "old", "new", cheap)
    assert len(rewrapped) == WRAPPED_KEY_BYTES
    assert crypto.inspect_wrapped_key(rewrapped).params == cheap
    assert crypto.unwrap_private_key(rewrapped, "new").key_id == reviewers[0].key_id


def test_password_hashes_record_the_parameters_they_were_made_with() -> None:
    params = Argon2Params(time_cost=2, memory_kib=16, parallelism=1)
    encoded = crypto.hash_password("pw", params)
    assert "$m=16,t=2,p=1$" in encoded
    assert not crypto.needs_rehash(encoded, params)
    assert crypto.needs_rehash(encoded, crypto.INSECURE_FAST)
    assert crypto.verify_password(encoded, "pw")
    assert not crypto.verify_password(encoded, "pW")


# --- receipts -----------------------------------------------------------------------------


def test_receipt_input_length_limit_is_inclusive() -> None:
    code = crypto.generate_receipt()
    padded = code.ljust(MAX_INPUT_CHARS)
    assert crypto.normalize_receipt(padded) == code.replace("-", "")
    with pytest.raises(crypto.MalformedReceipt):
        crypto.normalize_receipt(padded + " ")


def test_receipt_keys_repr_is_fixed_text(argon2_params: Argon2Params) -> None:
    keys = crypto.derive_receipt_keys(crypto.generate_receipt(), crypto.new_instance_salt(),
                                      argon2_params)
    assert repr(keys) == "ReceiptKeys(<secret>)"


# --- recipients: the recipient limit ---------------------------------------------------------


def test_a_full_header_refuses_one_more_recipient() -> None:
    content_key = ContentKey.generate(os.urandom(16))
    keys = [PrivateKey.generate().public_key for _ in range(MAX_RECIPIENTS + 1)]
    with pytest.raises(CryptoError):
        build_header(content_key, keys)
    header = build_header(content_key, keys[:MAX_RECIPIENTS])
    assert len(parse_header(header).entries) == MAX_RECIPIENTS
    with pytest.raises(CryptoError):
        crypto.add_recipient(header, content_key, keys[MAX_RECIPIENTS])
    # A key already present is not "one more".
    assert crypto.add_recipient(header, content_key, keys[0]) == header


# --- signing: bounds, fields and the replay window ---------------------------------------


@pytest.fixture
def sync_key() -> SigningKey:
    return SigningKey.generate()


def _verify(key: SigningKey, message: bytes, **kwargs: object) -> crypto.SyncMessage:
    kwargs.setdefault("purpose", "pull")
    kwargs.setdefault("replay_cache", MemoryReplayCache())
    return crypto.verify_message(key.verify_key, message, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("purpose", ["x", "p" * 255, "å" * 127])
def test_purposes_of_1_to_255_bytes_can_be_signed(sync_key: SigningKey, purpose: str) -> None:
    message = crypto.sign_message(sync_key, purpose=purpose, body=b"")
    assert _verify(sync_key, message, purpose=purpose).purpose == purpose


def test_a_verified_message_carries_its_own_fields(sync_key: SigningKey) -> None:
    nonce, reply = os.urandom(16), os.urandom(16)
    now = 1_700_000_000
    message = crypto.sign_message(sync_key, purpose="pull", body=b"b", in_reply_to=reply,
                                  timestamp=now, nonce=nonce)
    verified = _verify(sync_key, message, in_reply_to=reply, now=now)
    assert (verified.nonce, verified.in_reply_to, verified.timestamp, verified.body) == (
        nonce, reply, now, b"b")


@pytest.mark.parametrize("reply", [b"\x01", b"\x01" * 15, b"\x01" * 17])
def test_a_reply_nonce_of_the_wrong_length_cannot_be_signed(
    sync_key: SigningKey, reply: bytes
) -> None:
    with pytest.raises(CryptoError):
        crypto.sign_message(sync_key, purpose="pull", body=b"", in_reply_to=reply)


def test_nonces_of_the_wrong_length_cannot_be_signed(sync_key: SigningKey) -> None:
    with pytest.raises(CryptoError):
        crypto.sign_message(sync_key, purpose="pull", body=b"", nonce=b"\x01" * 15)


def test_a_body_of_exactly_max_body_bytes_is_accepted(sync_key: SigningKey) -> None:
    message = crypto.sign_message(sync_key, purpose="push", body=b"x" * 2000)
    assert _verify(sync_key, message, purpose="push", max_body=2000).body == b"x" * 2000
    document = crypto.sign_document(sync_key, purpose="dir", body=b"x" * 2000)
    assert crypto.verify_document(sync_key.verify_key, document, purpose="dir",
                                  max_body=2000).body == b"x" * 2000
    with pytest.raises(crypto.MalformedMessage):
        _verify(sync_key, message, purpose="push", max_body=1999)
    with pytest.raises(crypto.MalformedMessage):
        crypto.verify_document(sync_key.verify_key, document, purpose="dir", max_body=1999)


def test_documents_keep_the_timestamp_they_were_signed_with(sync_key: SigningKey) -> None:
    document = crypto.sign_document(sync_key, purpose="dir", body=b"{}", timestamp=12345)
    assert crypto.verify_document(sync_key.verify_key, document, purpose="dir").timestamp == 12345


@pytest.mark.parametrize("skew", [-300, 300, 0])
def test_messages_within_the_skew_window_are_accepted(sync_key: SigningKey, skew: int) -> None:
    now = 1_700_000_000
    message = crypto.sign_message(sync_key, purpose="pull", body=b"", timestamp=now + skew)
    assert _verify(sync_key, message, now=now).timestamp == now + skew


def test_distinct_messages_share_one_replay_cache(sync_key: SigningKey) -> None:
    cache = MemoryReplayCache()
    for _ in range(3):
        message = crypto.sign_message(sync_key, purpose="pull", body=b"same body")
        _verify(sync_key, message, replay_cache=cache)


def test_a_nonce_is_remembered_until_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(signing_module.time, "time", lambda: clock[0])
    cache = MemoryReplayCache()
    assert cache.remember(b"n" * 16, 1300.0)
    clock[0] = 1299.0
    assert not cache.remember(b"n" * 16, 1600.0)  # a replay inside the window
    clock[0] = 1300.0
    assert cache.remember(b"n" * 16, 1600.0)  # expired exactly at its expiry time


def test_a_full_replay_cache_drops_entries_that_expire_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(signing_module.time, "time", lambda: clock[0])
    cache = MemoryReplayCache(max_entries=1)
    assert cache.remember(b"a" * 16, 1300.0)
    with pytest.raises(CryptoError):
        cache.remember(b"b" * 16, 1600.0)  # full of an unexpired nonce: refuse
    clock[0] = 1300.0
    assert cache.remember(b"b" * 16, 1600.0)  # the old nonce expired: room again


def test_a_stored_message_is_rejected_as_a_replay_by_its_nonce(sync_key: SigningKey) -> None:
    cache = MemoryReplayCache()
    first = crypto.sign_message(sync_key, purpose="pull", body=b"", nonce=b"\x07" * 16)
    _verify(sync_key, first, replay_cache=cache)
    second = crypto.sign_message(sync_key, purpose="pull", body=b"other", nonce=b"\x07" * 16)
    with pytest.raises(crypto.ReplayedMessage):
        _verify(sync_key, second, replay_cache=cache)


# --- streams: the bounded reader that rekey pipes plaintext through ----------------------


class CountingIterator:
    """An iterator of pieces that counts how often it was asked for the next one."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)
        self.calls = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self.calls += 1
        return next(self._pieces)


def test_iterator_reader_returns_exactly_what_is_asked_and_pulls_no_more() -> None:
    source = CountingIterator([b"abcd", b"efgh", b"ij"])
    reader = IteratorReader(source)
    assert reader.read(0) == b""
    assert source.calls == 0
    assert reader.read(2) == b"ab"
    assert source.calls == 1
    assert reader.read(2) == b"cd"
    assert source.calls == 1
    assert reader.read(4) == b"efgh"
    assert source.calls == 2
    assert reader.read(5) == b"ij"
    assert reader.read(5) == b""
    calls = source.calls
    assert reader.read(5) == b""
    assert source.calls == calls  # an exhausted source is not asked again


def test_iterator_reader_joins_pieces_and_reads_to_the_end() -> None:
    reader = IteratorReader(iter([b"ab", b"cd", b"ef", b"gh"]))
    assert reader.read(5) == b"abcde"
    assert reader.read(-1) == b"fgh"
    assert reader.read(-1) == b""
    assert reader.read() == b""


def test_iterator_reader_reads_everything_by_default() -> None:
    source = CountingIterator([b"ab", b"cd"])
    reader = IteratorReader(source)
    assert reader.read() == b"abcd"
    assert reader.read() == b""


def test_drain_consumes_the_whole_source() -> None:
    finished = []

    def pieces() -> Iterator[bytes]:
        yield from (b"x" * 70_000 for _ in range(3))
        finished.append(True)  # a verifying iterator authenticates here, at its end

    reader = IteratorReader(pieces())
    assert reader.read(10) == b"x" * 10
    reader.drain()
    assert finished == [True]
    assert reader.read(1) == b""


# --- baseline: the bench-only secretstream ------------------------------------------------


@pytest.mark.parametrize("size", [1, 4096, 8192, 10_000])
def test_raw_stream_layout_and_final_tag(size: int) -> None:
    key, data, chunks = os.urandom(32), os.urandom(size), []
    header = raw_push(data, key, 4096, chunks)
    assert [len(c) - ABYTES for c in chunks] == [
        min(4096, size - offset) for offset in range(0, size, 4096)
    ]
    raw_pull(header, b"".join(chunks), key, 4096)  # the last chunk carries TAG_FINAL


# --- body: the preamble a reader parses before any key is involved -----------------------

_PRE = struct.Struct(">4sBB16sH")
_SS_HEADER = 24


def _preamble(*, magic: bytes = b"LYKB", version: int = 1, chunk_log2: int = 12,
              blob: bytes = b"{}", routing_len: int | None = None) -> bytes:
    length = len(blob) if routing_len is None else routing_len
    return _PRE.pack(magic, version, chunk_log2, b"\x11" * 16, length) + blob + b"\x00" * 24


@pytest.mark.parametrize("chunk_log2", [12, 22])
def test_preamble_chunk_sizes_at_their_bounds_are_read(chunk_log2: int) -> None:
    preamble = crypto.read_body_preamble(io.BytesIO(_preamble(chunk_log2=chunk_log2)))
    assert preamble.chunk_size == 1 << chunk_log2
    assert (preamble.version, preamble.envelope_id, preamble.routing) == (1, b"\x11" * 16, {})


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (_preamble(chunk_log2=11), crypto.TamperedEnvelope),
        (_preamble(chunk_log2=23), crypto.TamperedEnvelope),
        (_preamble(blob=b"", routing_len=4097), crypto.TamperedEnvelope),
        (_preamble(magic=b"LYKX"), crypto.TamperedEnvelope),
        (_preamble(version=2), crypto.UnsupportedVersion),
        (_preamble(blob=b"[]"), crypto.TamperedEnvelope),
        (_preamble(blob=b'{"a":1}'), crypto.TamperedEnvelope),
        (_preamble(blob=b'{"b":"1","a":"2"}'), crypto.TamperedEnvelope),  # not canonical
        (_preamble(blob=b'{"a": "1"}'), crypto.TamperedEnvelope),  # not compact
        (_preamble(blob=b'{"a":"\xff"}'), crypto.TamperedEnvelope),  # not UTF-8
        (_preamble(blob=b'{"a":'), crypto.TamperedEnvelope),  # not JSON
        (_preamble()[:23], crypto.TamperedEnvelope),  # truncated head
        (_preamble(blob=b"{}", routing_len=40)[:60], crypto.TamperedEnvelope),  # short blob
        (_preamble()[:-1], crypto.TamperedEnvelope),  # short secretstream header
    ],
)
def test_malformed_preambles_are_refused_without_a_key(
    raw: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        crypto.read_body_preamble(io.BytesIO(raw))


def test_routing_at_the_size_limit_is_accepted_and_one_byte_more_is_not(
    reviewers: list[PrivateKey],
) -> None:
    routing = {"k": "v" * (MAX_ROUTING_BYTES - len('{"k":""}'))}
    assert len(encode_routing(routing)) == MAX_ROUTING_BYTES
    envelope = crypto.seal_bytes(b"x", [reviewers[0].public_key], routing=routing)
    assert crypto.open_bytes(envelope, reviewers[0])[1].routing == routing
    assert crypto.read_body_preamble(io.BytesIO(envelope.body)).routing == routing
    with pytest.raises(CryptoError):
        encode_routing({"k": routing["k"] + "v"})


@pytest.mark.parametrize("routing", [{"k": 1}, {1: "v"}, {"k": None}, {"k": b"v"}])
def test_routing_fields_must_map_strings_to_strings(
    reviewers: list[PrivateKey], routing: dict[object, object]
) -> None:
    with pytest.raises(CryptoError):
        crypto.seal_bytes(b"x", [reviewers[0].public_key], routing=routing)  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk_size", [4096, 4 * 1024 * 1024])
def test_chunk_sizes_at_their_bounds_are_accepted(
    reviewers: list[PrivateKey], chunk_size: int
) -> None:
    envelope = crypto.seal_bytes(b"x" * 5000, [reviewers[0].public_key], chunk_size=chunk_size)
    assert crypto.read_body_preamble(io.BytesIO(envelope.body)).chunk_size == chunk_size
    assert crypto.open_bytes(envelope, reviewers[0])[0] == b"x" * 5000


def test_a_body_writer_refuses_to_write_or_close_twice_after_closing(
    reviewers: list[PrivateKey],
) -> None:
    writer = crypto.EnvelopeWriter(io.BytesIO(), [reviewers[0].public_key], chunk_size=4096)
    assert writer.write(b"") == 0
    assert writer.write(b"abc") == 3
    assert writer.plaintext_size == 3
    writer.close()
    with pytest.raises(CryptoError):
        writer.write(b"more")
    with pytest.raises(CryptoError):
        writer.close()


@pytest.mark.parametrize("size", [0, 1, 1020, 4092, 4096, 8188, 8192, 12_284])
def test_plaintexts_that_end_exactly_at_a_layout_edge_round_trip(
    reviewers: list[PrivateKey], size: int
) -> None:
    # 1020, 4092, 8188, 12284: L + 4 is its own Padme size, so the data fills the boundary
    # chunk up to the trailer with no padding in between (tail == len(boundary)).
    plaintext = os.urandom(size)
    body = io.BytesIO()
    sealed = crypto.seal_stream(io.BytesIO(plaintext), body, [reviewers[0].public_key],
                                chunk_size=4096)
    assert (sealed.plaintext_size, sealed.body_size) == (size, len(body.getvalue()))
    out = io.BytesIO()
    opened = crypto.open_stream(sealed.header, io.BytesIO(body.getvalue()), out, reviewers[0])
    assert (out.getvalue(), opened.plaintext_size) == (plaintext, size)
    assert opened.envelope_id == sealed.envelope_id


# --- envelope: ids and rekey of a body that does not start at offset 0 --------------------


def test_an_envelope_id_can_be_chosen_but_must_be_16_bytes(reviewers: list[PrivateKey]) -> None:
    chosen = os.urandom(16)
    body = io.BytesIO()
    sealed = crypto.seal_stream(io.BytesIO(b"x"), body, [reviewers[0].public_key],
                                envelope_id=chosen)
    assert sealed.envelope_id == chosen
    assert crypto.header_envelope_id(sealed.header) == chosen
    assert crypto.Envelope(sealed.header, body.getvalue()).envelope_id == chosen
    assert crypto.read_body_preamble(io.BytesIO(body.getvalue())).envelope_id == chosen
    for bad in (b"", os.urandom(15), os.urandom(17)):
        with pytest.raises(CryptoError):
            crypto.EnvelopeWriter(io.BytesIO(), [reviewers[0].public_key], envelope_id=bad)


def test_rekey_reads_the_body_from_where_the_stream_stands(reviewers: list[PrivateKey]) -> None:
    old, new = reviewers[0], reviewers[1]
    plaintext = os.urandom(9000)
    envelope = crypto.seal_bytes(plaintext, [old.public_key], routing={"unit": "hr"},
                                 chunk_size=4096)
    stream = io.BytesIO(b"prefix" + envelope.body)
    stream.seek(6)
    out = io.BytesIO()
    sealed = crypto.rekey(envelope.header, stream, out, old, [new.public_key])
    assert sealed.envelope_id == envelope.envelope_id
    assert (sealed.plaintext_size, sealed.body_size) == (len(plaintext), len(out.getvalue()))
    rekeyed = crypto.Envelope(sealed.header, out.getvalue())
    opened_plaintext, opened = crypto.open_bytes(rekeyed, new)
    assert (opened_plaintext, opened.routing) == (plaintext, {"unit": "hr"})
    assert crypto.read_body_preamble(io.BytesIO(out.getvalue())).chunk_size == 4096


# --- recipients: header structure and content keys -----------------------------------------


def _header_with(count: int, entries: int | None = None) -> bytes:
    head = struct.pack(">4sB16sH", b"LYKH", 1, b"\x22" * 16, count)
    return head + b"\x00" * (ENTRY_BYTES * (count if entries is None else entries))


@pytest.mark.parametrize(
    "header",
    [_header_with(0), _header_with(MAX_RECIPIENTS + 1), _header_with(2, 1), _header_with(1, 2),
     _header_with(1)[:-1], _header_with(1)[:22]],
)
def test_structurally_invalid_headers_are_tampering(header: bytes) -> None:
    with pytest.raises(crypto.TamperedEnvelope):
        parse_header(header)


def test_a_header_of_the_largest_count_parses() -> None:
    parsed = parse_header(_header_with(MAX_RECIPIENTS))
    assert len(parsed.entries) == MAX_RECIPIENTS
    assert parsed.envelope_id == b"\x22" * 16
    assert parse_header(parsed.to_bytes()) == parsed


def test_header_entries_keep_their_key_ids_and_order(reviewers: list[PrivateKey]) -> None:
    envelope = crypto.seal_bytes(b"x", [r.public_key for r in reviewers])
    parsed = parse_header(envelope.header)
    assert parsed.key_ids == tuple(r.key_id for r in reviewers)
    assert crypto.header_key_ids(envelope.header) == parsed.key_ids
    assert all(len(e.sealed) == ENTRY_BYTES - 16 for e in parsed.entries)
    assert parsed.to_bytes() == envelope.header


@pytest.mark.parametrize(("envelope_id", "key"), [(b"\x00" * 15, b"\x00" * 32),
                                                  (b"\x00" * 16, b"\x00" * 31),
                                                  (b"\x00" * 17, b"\x00" * 32)])
def test_malformed_content_keys_are_refused(envelope_id: bytes, key: bytes) -> None:
    with pytest.raises(CryptoError):
        ContentKey(envelope_id, key)


def test_content_keys_show_only_their_envelope_id_and_cannot_be_pickled() -> None:
    content_key = ContentKey.generate(b"\x33" * 16)
    assert len(content_key.raw_bytes()) == 32
    assert content_key.envelope_id == b"\x33" * 16
    assert repr(content_key) == f"ContentKey(envelope_id={'33' * 16})"
    with pytest.raises(TypeError):
        pickle.dumps(content_key)


def test_removing_recipients(reviewers: list[PrivateKey]) -> None:
    envelope = crypto.seal_bytes(b"x", [r.public_key for r in reviewers[:2]])
    header = crypto.remove_recipient(envelope.header, reviewers[0].key_id)
    assert crypto.header_key_ids(header) == (reviewers[1].key_id,)
    assert crypto.header_envelope_id(header) == envelope.envelope_id
    with pytest.raises(crypto.UnknownRecipient):
        crypto.remove_recipient(header, reviewers[0].key_id)
    with pytest.raises(CryptoError):
        crypto.remove_recipient(header, reviewers[1].key_id)


# --- padding ------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "padded"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4),
                                                (9, 10), (1025, 1088), (2**20 + 1, 2**20 + 2**15)])
def test_padme_small_and_edge_values(length: int, padded: int) -> None:
    assert crypto.padme(length) == padded


def test_padme_refuses_negative_lengths_and_the_floor_is_one_kib() -> None:
    with pytest.raises(ValueError):
        crypto.padme(-1)
    assert crypto.padded_size(0) == crypto.padded_size(1024) == 1024
    assert crypto.padded_size(1025) == crypto.padme(1025)


# --- the body reader against a key holder who writes a non-canonical layout ---------------
#
# Only someone holding the content key can produce these chunks (they authenticate), so
# this is about an insider or a buggy writer: the reader still accepts exactly one layout.

_DATA = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_BOUNDARY = sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH
_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def _forge(content_key: ContentKey, chunks: list[tuple[bytes, int]]) -> bytes:
    ad = Preamble(1, 12, content_key.envelope_id, {}).context()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, content_key.raw_bytes())
    out = [ad, header]
    for plain, tag in chunks:
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(state, plain, ad, tag)
        out += [struct.pack(">I", len(sealed)), sealed]
    return b"".join(out)


def _open_forged(content_key: ContentKey, chunks: list[tuple[bytes, int]]) -> bytes:
    out = io.BytesIO()
    crypto.decrypt_body(io.BytesIO(_forge(content_key, chunks)), out, content_key)
    return out.getvalue()


def _trailer(tail: int) -> tuple[bytes, int]:
    return struct.pack(">I", tail), _FINAL


def test_the_forging_helper_writes_what_the_reader_accepts() -> None:
    content_key = ContentKey.generate(os.urandom(16))
    full = os.urandom(4096)
    chunks = [(full, _DATA), (b"ab" + bytes(1018), _BOUNDARY), (bytes(4096), _DATA),
              (bytes(10), _DATA), _trailer(2)]
    assert _open_forged(content_key, chunks) == full + b"ab"


@pytest.mark.parametrize(
    "chunks",
    [
        [(b"short", _DATA), (b"ab", _BOUNDARY), _trailer(2)],  # a short data chunk
        [(bytes(4096), _FINAL), (b"ab", _BOUNDARY), _trailer(2)],  # FINAL as a data chunk
        [(b"ab", _BOUNDARY), (b"cd", _BOUNDARY), _trailer(2)],  # two boundaries
        [(b"ab", _BOUNDARY), _trailer(3)],  # the trailer claims more than the boundary
        [(b"ab", _BOUNDARY), (b"\x00\x00\x00\x02\x00", _FINAL)],  # trailer of 5 bytes
        [(b"ab", _BOUNDARY), (b"\x00\x00\x00\x02", _DATA)],  # no FINAL chunk at all
    ],
)
def test_non_canonical_layouts_are_refused_even_with_the_key(
    chunks: list[tuple[bytes, int]],
) -> None:
    content_key = ContentKey.generate(os.urandom(16))
    with pytest.raises(crypto.TamperedEnvelope):
        _open_forged(content_key, chunks)


# --- streams.read_full and errors --------------------------------------------------------


class _Scripted:
    """A source that answers each read with the next scripted piece, then b''."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = list(pieces)

    def read(self, size: int = -1, /) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""


def test_read_full_retries_short_reads_and_refuses_over_long_ones() -> None:
    assert read_full(_Scripted([b"ab", b"cd", b"e"]), 5) == b"abcde"
    assert read_full(_Scripted([b"ab", b"c"]), 5) == b"abc"  # the stream ended first
    assert read_full(_Scripted([]), 5) == b""
    with pytest.raises(CryptoError):
        read_full(_Scripted([b"abcdef"]), 5)
    with pytest.raises(CryptoError):
        read_full(_Scripted([b"ab", b"cdef"]), 5)  # the second read overshoots


def test_crypto_errors_carry_their_own_or_the_default_message() -> None:
    assert str(crypto.TamperedEnvelope()) == crypto.TamperedEnvelope.default_message
    assert str(crypto.TamperedEnvelope("chunk sequence")) == "chunk sequence"
    assert str(CryptoError()) == "cryptographic operation failed"


@pytest.mark.parametrize("raw", [b"x" * 31, b"x" * 33, "x" * 32, bytearray(32)])
def test_public_keys_must_be_32_bytes(raw: object) -> None:
    with pytest.raises(CryptoError):
        crypto.PublicKey(raw)  # type: ignore[arg-type]


# --- key constructors and sync identities that the rest of tests/crypto never called -------


def test_private_keys_from_a_seed_are_deterministic_and_need_32_bytes() -> None:
    seed = bytes(range(32))
    first, again = PrivateKey.from_seed(seed), PrivateKey.from_seed(seed)
    assert first.key_id == again.key_id
    assert first.raw_bytes() == again.raw_bytes()
    assert PrivateKey.from_seed(bytes(32)).key_id != first.key_id
    for bad in (b"", seed[:31], seed + b"\x00"):
        with pytest.raises(CryptoError):
            PrivateKey.from_seed(bad)


def test_signing_keys_hide_their_seed_and_pair_with_their_box_keys() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    assert key.seed() == bytes(range(32))
    assert repr(key) == "SigningKey(<secret>)"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    box_private = key.box_private_key()
    assert box_private.public_key == key.verify_key.box_public_key()
    sealed = crypto.seal_bytes(b"bundle", [key.verify_key.box_public_key()])
    assert crypto.open_bytes(sealed, box_private)[0] == b"bundle"
    with pytest.raises(CryptoError):
        SigningKey.from_seed(bytes(31))
    with pytest.raises(CryptoError):
        crypto.VerifyKey(bytes(31))
    assert crypto.VerifyKey(key.verify_key.raw).raw == key.verify_key.raw


def test_argon2_parameters_serialise_to_their_documented_names() -> None:
    assert Argon2Params(3, 1024, 2).to_dict() == {"t": 3, "m": 1024, "p": 2}


def test_sealed_secrets_up_to_the_size_limit_round_trip() -> None:
    key = crypto.new_secret_key()
    largest = b"s" * MAX_SECRET
    assert crypto.open_secret(key, crypto.seal_secret(key, largest)) == largest
    with pytest.raises(ValueError):
        crypto.seal_secret(key, largest + b"s")


def test_a_bare_sealed_secret_header_is_told_apart_by_version() -> None:
    key = crypto.new_secret_key()
    with pytest.raises(crypto.UnsupportedVersion):
        crypto.open_secret(key, b"LYKT\x02")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(key, b"LYKT\x01")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_secret(key, b"LYKT")


def test_padding_longer_than_a_chunk_keeps_the_documented_body_length(
    reviewers: list[PrivateKey],
) -> None:
    # 1 MiB + 5 bytes pads by about 32 KiB: several padding chunks and a partial last one.
    size, chunk = 2**20 + 5, 4096
    envelope = crypto.seal_bytes(bytes(size), [reviewers[0].public_key], chunk_size=chunk)
    padded = crypto.padded_size(size + 4)  # data + 4-byte trailer, Padmé-rounded
    assert padded - size > 2 * chunk
    frames = -(-(padded - 4) // chunk) + 1  # the payload in chunk-size pieces, + the trailer
    expected = len(_PRE.pack(b"LYKB", 1, 12, bytes(16), 2)) + 2 + _SS_HEADER + frames * (
        4 + ABYTES) + padded
    assert len(envelope.body) == expected
    assert crypto.open_bytes(envelope, reviewers[0])[0] == bytes(size)


def test_a_decoy_entry_under_my_key_id_does_not_lock_me_out(reviewers: list[PrivateKey]) -> None:
    envelope = crypto.seal_bytes(b"report", [r.public_key for r in reviewers[:2]])
    parsed = parse_header(envelope.header)
    decoy = RecipientEntry(key_id=reviewers[0].key_id, sealed=os.urandom(ENTRY_BYTES - 16))
    header = RecipientHeader(parsed.envelope_id, (decoy, *parsed.entries)).to_bytes()
    assert crypto.open_bytes(crypto.Envelope(header, envelope.body), reviewers[0])[0] == b"report"


def _layout(body: bytes, content_key: ContentKey) -> list[tuple[int, int]]:
    """(plaintext length, tag) of every chunk of ``body``, opened with ``content_key``."""
    stream = io.BytesIO(body)
    preamble, ss_header = read_preamble(stream)
    ad = preamble.context()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, ss_header,
                                                           content_key.raw_bytes())
    chunks = []
    while frame := stream.read(4):
        sealed = stream.read(struct.unpack(">I", frame)[0])
        plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, sealed, ad)
        chunks.append((len(plain), tag))
    return chunks


@pytest.mark.parametrize("pieces", [[1, 4095], [4096], [2000, 2096], [4095, 1, 4096]])
def test_the_last_piece_of_data_is_always_the_boundary_chunk(pieces: list[int]) -> None:
    # FORMAT.md: data chunks, then the BOUNDARY chunk holding the end of the data, padding,
    # and the FINAL trailer; a full last chunk of data must not go out as a DATA chunk.
    content_key = ContentKey.generate(os.urandom(16))
    out = io.BytesIO()
    writer = BodyWriter(out, content_key, chunk_size=4096)
    for size in pieces:
        writer.write(os.urandom(size))
    writer.close()
    layout = _layout(out.getvalue(), content_key)
    full = sum(pieces) // 4096 - (sum(pieces) % 4096 == 0)
    assert layout[:full] == [(4096, _DATA)] * full
    assert layout[full][1] == _BOUNDARY
    assert layout[-1] == (4, _FINAL)
    assert all(tag == _DATA for _, tag in layout[full + 1 : -1])


def test_a_duplicate_recipient_does_not_drop_the_ones_after_it(
    reviewers: list[PrivateKey],
) -> None:
    a, b, c = (r.public_key for r in reviewers)
    envelope = crypto.seal_bytes(b"x", [a, b, a, c, b])
    assert crypto.header_key_ids(envelope.header) == (a.key_id, b.key_id, c.key_id)


def test_routing_is_encoded_sorted_and_compact() -> None:
    assert encode_routing({"b": "1", "a": "å"}) == '{"a":"å","b":"1"}'.encode()
