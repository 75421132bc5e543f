"""The recipient list tag: only a holder of the content key makes it; any change breaks it."""

from __future__ import annotations

import crypto


def _keys(n: int) -> list[bytes]:
    return [crypto.PrivateKey.generate().public_key.key_id for _ in range(n)]


def test_the_tag_ignores_order_and_duplicates() -> None:
    k = crypto.ContentKey.generate(bytes(16))
    a, b, c = _keys(3)
    tag = crypto.recipient_list_tag(k, [a, b, c])
    assert len(tag) == 32
    assert crypto.verify_recipient_list(k, [c, a, b, a], tag)


def test_an_appended_recipient_breaks_the_tag() -> None:
    k = crypto.ContentKey.generate(bytes(16))
    readers, attacker = _keys(2), _keys(1)[0]
    tag = crypto.recipient_list_tag(k, readers)
    assert not crypto.verify_recipient_list(k, [*readers, attacker], tag)
    assert not crypto.verify_recipient_list(k, readers[:1], tag)


def test_a_swapped_recipient_breaks_the_tag() -> None:
    k = crypto.ContentKey.generate(bytes(16))
    a, b, attacker = _keys(3)
    assert not crypto.verify_recipient_list(k, [a, attacker],
                                            crypto.recipient_list_tag(k, [a, b]))


def test_the_tag_is_bound_to_the_content_key_and_the_envelope() -> None:
    readers = _keys(2)
    k = crypto.ContentKey.generate(bytes(16))
    other_key = crypto.ContentKey.generate(bytes(16))
    same_key_other_envelope = crypto.ContentKey(b"\x01" * 16, k.raw_bytes())
    tag = crypto.recipient_list_tag(k, readers)
    assert not crypto.verify_recipient_list(other_key, readers, tag)
    assert not crypto.verify_recipient_list(same_key_other_envelope, readers, tag)


def test_only_key_ids_are_accepted() -> None:
    import pytest

    with pytest.raises(crypto.CryptoError):
        crypto.recipient_list_tag(crypto.ContentKey.generate(bytes(16)), [b"short"])
    with pytest.raises(crypto.CryptoError):
        crypto.recipient_list_tag(crypto.ContentKey.generate(bytes(16)), [])


def test_known_answer() -> None:
    # Pins the format of FORMAT.md: a change of layout must change this vector on purpose.
    k = crypto.ContentKey(bytes(range(16)), bytes(range(32)))
    keys = [bytes([i]) * 16 for i in (2, 1)]
    assert crypto.recipient_list_tag(k, keys).hex() == KNOWN


KNOWN = "789529ee1b797ff26bca158ab7a076d3874c45734797bf802eedd24ab9c8d696"
