"""Reviewer and escrow keys: key ids, wrapping under a passphrase, rewrapping."""

from __future__ import annotations

import pickle

import pytest

import crypto
from crypto import Argon2Params, PrivateKey
from crypto.keys import WRAPPED_KEY_BYTES


def test_key_id_is_stable_and_distinct(reviewers: list[PrivateKey]) -> None:
    first = reviewers[0]
    assert first.key_id == crypto.PublicKey(first.public_key.raw).key_id
    assert len({r.key_id for r in reviewers}) == len(reviewers)
    assert len(first.public_key.key_id_hex) == 32


def test_wrapped_key_unwraps_with_the_right_passphrase(
    reviewers: list[PrivateKey], argon2_params: Argon2Params
) -> None:
    wrapped = crypto.wrap_private_key(reviewers[0], "rätt lösenfras", argon2_params)
    assert len(wrapped) == WRAPPED_KEY_BYTES
    assert crypto.unwrap_private_key(wrapped, "rätt lösenfras").raw_bytes() == (
        reviewers[0].raw_bytes()
    )
    info = crypto.inspect_wrapped_key(wrapped)
    assert info.key_id == reviewers[0].key_id
    assert info.params == argon2_params


def test_wrong_passphrase_fails_cleanly(
    reviewers: list[PrivateKey], argon2_params: Argon2Params
) -> None:
    wrapped = crypto.wrap_private_key(reviewers[0], "rätt lösenfras", argon2_params)
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(wrapped, "fel lösenfras")


def test_wrapping_is_salted(reviewers: list[PrivateKey], argon2_params: Argon2Params) -> None:
    first = crypto.wrap_private_key(reviewers[0], "samma", argon2_params)
    second = crypto.wrap_private_key(reviewers[0], "samma", argon2_params)
    assert first != second


def test_rewrap_changes_the_passphrase_not_the_key(
    reviewers: list[PrivateKey], argon2_params: Argon2Params
) -> None:
    reviewer = reviewers[0]
    envelope = crypto.seal_bytes(b"old case", [reviewer.public_key])
    wrapped = crypto.wrap_private_key(reviewer, "gammal", argon2_params)
    rewrapped = crypto.rewrap_private_key(wrapped, "gammal", "ny", argon2_params)
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(rewrapped, "gammal")
    key = crypto.unwrap_private_key(rewrapped, "ny")
    assert crypto.open_bytes(envelope, key)[0] == b"old case"


def test_every_bit_flip_in_a_wrapped_key_is_rejected(
    reviewers: list[PrivateKey], argon2_params: Argon2Params
) -> None:
    wrapped = crypto.wrap_private_key(reviewers[0], "pass", argon2_params)
    for bit in range(len(wrapped) * 8):
        tampered = bytearray(wrapped)
        tampered[bit // 8] ^= 1 << (bit % 8)
        # Flips in the cost fields may yield parameters that are valid but expensive;
        # only flip those whose result stays cheap or invalid.
        if 5 <= bit // 8 < 14:
            try:
                info = crypto.inspect_wrapped_key(bytes(tampered))
            except crypto.WrongPassphrase:
                continue
            if info.params.memory_kib * info.params.time_cost > 1024 * 64:
                continue
        with pytest.raises(crypto.CryptoError):
            crypto.unwrap_private_key(bytes(tampered), "pass")


def test_swapped_key_id_is_detected(
    reviewers: list[PrivateKey], argon2_params: Argon2Params
) -> None:
    wrapped = bytearray(crypto.wrap_private_key(reviewers[0], "pass", argon2_params))
    wrapped[30:46] = reviewers[1].key_id
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(bytes(wrapped), "pass")


def test_out_of_range_stored_parameters_are_refused(out_of_range_wrapped_key: bytes) -> None:
    # A tampered record must not be able to make us allocate gigabytes (DoS).
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(out_of_range_wrapped_key, "pass")


@pytest.mark.parametrize("bad", [b"", b"x" * 117, b"x" * 119])
def test_wrapped_key_of_wrong_length_is_refused(bad: bytes) -> None:
    with pytest.raises(crypto.WrongPassphrase):
        crypto.unwrap_private_key(bad, "pass")


def test_empty_passphrase_is_refused(reviewers: list[PrivateKey]) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.wrap_private_key(reviewers[0], "", crypto.INSECURE_FAST)


def test_escrow_key_opens_envelopes_sealed_to_it(reviewers: list[PrivateKey]) -> None:
    escrow = crypto.generate_escrow_key()
    envelope = crypto.seal_bytes(b"recover me", [reviewers[0].public_key, escrow.public_key])
    assert crypto.open_bytes(envelope, escrow)[0] == b"recover me"


def test_private_keys_do_not_leak_through_repr_or_pickle(reviewers: list[PrivateKey]) -> None:
    key = reviewers[0]
    assert key.raw_bytes().hex() not in repr(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_production_cost_wrapping_round_trips(reviewers: list[PrivateKey]) -> None:
    wrapped = crypto.wrap_private_key(reviewers[0], "produktion")
    assert crypto.inspect_wrapped_key(wrapped).params == crypto.PRODUCTION
    assert crypto.unwrap_private_key(wrapped, "produktion").key_id == reviewers[0].key_id
