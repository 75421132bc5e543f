"""Receipt codes: entropy, typing, typo detection, derivation."""

from __future__ import annotations

import math

import pytest

import crypto
from crypto import Argon2Params
from crypto.receipt import ALPHABET, CODE_CHARS, ENTROPY_BITS


def test_receipts_have_at_least_88_bits_and_a_readable_shape() -> None:
    assert ENTROPY_BITS >= 88
    code = crypto.generate_receipt()
    groups = code.split("-")
    assert [len(g) for g in groups] == [5, 5, 5, 5]
    assert all(ch in ALPHABET for ch in "".join(groups))
    assert not set("ILOU") & set(code)


def test_generated_receipts_are_distinct_and_spread_over_the_alphabet() -> None:
    codes = [crypto.normalize_receipt(crypto.generate_receipt()) for _ in range(500)]
    assert len(set(codes)) == len(codes)
    used = {ch for code in codes for ch in code[:18]}
    assert used == set(ALPHABET)


@pytest.mark.parametrize(
    "transform",
    [
        str.lower,
        lambda c: c.replace("-", " "),
        lambda c: c.replace("-", ""),
        lambda c: f"  {c}\n",
        lambda c: c.replace("-", "\u2013"),
        lambda c: " ".join(c.replace("-", "")),
    ],
)
def test_normalisation_forgives_case_spaces_and_dashes(transform: object) -> None:
    code = crypto.generate_receipt()
    assert callable(transform)
    assert crypto.normalize_receipt(transform(code)) == code.replace("-", "")


def test_confusable_letters_are_read_as_digits() -> None:
    while True:
        code = crypto.generate_receipt()
        if "0" in code or "1" in code:
            break
    typed = code.replace("0", "O").replace("1", "l")
    assert crypto.normalize_receipt(typed) == code.replace("-", "")


def test_every_single_character_substitution_is_caught_as_a_typo_mostly() -> None:
    code = crypto.normalize_receipt(crypto.generate_receipt())
    caught = missed = 0
    for index in range(CODE_CHARS):
        for ch in ALPHABET:
            if ch == code[index]:
                continue
            typo = code[:index] + ch + code[index + 1 :]
            try:
                crypto.normalize_receipt(typo)
                missed += 1
            except crypto.ReceiptTypo:
                caught += 1
    # A 10-bit check misses about 1 in 1024: allow a generous margin, never most.
    assert caught / (caught + missed) > 0.99


def test_adjacent_transpositions_are_caught_as_typos_mostly() -> None:
    caught = total = 0
    for _ in range(20):
        code = crypto.normalize_receipt(crypto.generate_receipt())
        for i in range(CODE_CHARS - 1):
            if code[i] == code[i + 1]:
                continue
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            total += 1
            try:
                crypto.normalize_receipt(swapped)
            except crypto.ReceiptTypo:
                caught += 1
    assert caught / total > 0.98


@pytest.mark.parametrize(
    "typed", ["", "ABC", "X" * 21, "U" * 20, "ÅÄÖ" * 7, "!" * 20, "A" * 5000, None, 12345]
)
def test_malformed_input_is_told_apart_from_a_typo(typed: object) -> None:
    with pytest.raises(crypto.MalformedReceipt) as raised:
        crypto.normalize_receipt(typed)  # type: ignore[arg-type]
    assert not isinstance(raised.value, crypto.ReceiptTypo)


def test_derivation_is_deterministic_and_salted(
    argon2_params: Argon2Params, instance_salt: bytes
) -> None:
    code = crypto.generate_receipt()
    first = crypto.derive_receipt_keys(code, instance_salt, argon2_params)
    again = crypto.derive_receipt_keys(code.lower(), instance_salt, argon2_params)
    other_salt = crypto.derive_receipt_keys(code, crypto.new_instance_salt(), argon2_params)
    assert first.lookup_token == again.lookup_token
    assert first.tipster_public_key == again.tipster_public_key
    assert first.lookup_token != other_salt.lookup_token
    assert first.params == argon2_params
    # The token and the key come from independent HKDF outputs.
    assert first.lookup_token != first.tipster_key.raw_bytes()


def test_replies_sealed_to_the_tipster_key_open_with_the_receipt_only(
    argon2_params: Argon2Params, instance_salt: bytes
) -> None:
    code = crypto.generate_receipt()
    tipster = crypto.derive_receipt_keys(code, instance_salt, argon2_params)
    reply = crypto.seal_bytes(b"Tack, vi har tagit emot din anm\xc3\xa4lan.",
                              [tipster.tipster_public_key])
    again = crypto.derive_receipt_keys(code, instance_salt, argon2_params)
    assert crypto.open_bytes(reply, again.tipster_key)[0].startswith(b"Tack")
    stranger = crypto.derive_receipt_keys(crypto.generate_receipt(), instance_salt, argon2_params)
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(reply, stranger.tipster_key)


def test_derivation_refuses_a_bad_salt(argon2_params: Argon2Params) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.derive_receipt_keys(crypto.generate_receipt(), b"short", argon2_params)


def test_receipt_keys_repr_hides_secrets(argon2_params: Argon2Params, instance_salt: bytes) -> None:
    keys = crypto.derive_receipt_keys(crypto.generate_receipt(), instance_salt, argon2_params)
    assert keys.lookup_token.hex() not in repr(keys)


def test_offline_guessing_costs_more_than_securedrop_codenames() -> None:
    # SecureDrop: 7 words from a list of about 7,300 (~90 bits), scrypt N=2^14, r=8
    # (16 MiB). Ours: 90 bits under Argon2id at 3 passes over 128 MiB. Memory-hard cost
    # per guess is proportional to passes x memory; the entropy is at least equal.
    securedrop_bits = 7 * math.log2(7300)
    assert math.floor(securedrop_bits) <= ENTROPY_BITS
    ours = crypto.PRODUCTION.time_cost * crypto.PRODUCTION.memory_kib
    securedrop = 1 * 16 * 1024
    assert ours / securedrop >= 16
    # About a fifth of GlobaLeaks' Argon2id sign-in cost (opslimit 16, 128 MiB).
    globaleaks = 16 * 128 * 1024
    assert 0.15 <= ours / globaleaks <= 0.25
