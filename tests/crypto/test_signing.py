"""Signed sync messages: forged, replayed, stale, re-purposed and malformed ones fail."""

from __future__ import annotations

import time
from typing import Any

import pytest

import crypto
from crypto import MemoryReplayCache, SigningKey


@pytest.fixture
def casework_key() -> SigningKey:
    return SigningKey.generate()


def verify(key: SigningKey, message: bytes, purpose: str,
           replay_cache: crypto.ReplayCache | None = None,
           **options: Any) -> crypto.SyncMessage:
    """Verify ``message`` against ``key``'s verify key, with a fresh replay cache unless
    one is given (``options``: verify_message's other keyword arguments)."""
    cache = MemoryReplayCache() if replay_cache is None else replay_cache
    return crypto.verify_message(key.verify_key, message, purpose=purpose,
                                 replay_cache=cache, **options)


def test_valid_message_verifies_once(casework_key: SigningKey) -> None:
    cache = MemoryReplayCache()
    message = crypto.sign_message(casework_key, purpose="pull", body=b"batch=50")
    verified = verify(casework_key, message, "pull", cache)
    assert verified.body == b"batch=50"
    with pytest.raises(crypto.ReplayedMessage):
        verify(casework_key, message, "pull", cache)


def test_message_signed_by_another_key_is_forged(casework_key: SigningKey) -> None:
    message = crypto.sign_message(SigningKey.generate(), purpose="pull", body=b"")
    with pytest.raises(crypto.ForgedMessage):
        verify(casework_key, message, "pull")


def test_every_single_bit_flip_is_rejected(casework_key: SigningKey) -> None:
    message = crypto.sign_message(casework_key, purpose="ack", body=b"envelope-ids",
                                  in_reply_to=b"\x01" * 16)
    for bit in range(len(message) * 8):
        tampered = bytearray(message)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(crypto.SyncMessageError):
            verify(casework_key, bytes(tampered), "ack")


def test_truncated_or_extended_messages_are_rejected(casework_key: SigningKey) -> None:
    message = crypto.sign_message(casework_key, purpose="pull", body=b"abc")
    for cut in range(len(message)):
        with pytest.raises(crypto.SyncMessageError):
            verify(casework_key, message[:cut], "pull")
    with pytest.raises(crypto.SyncMessageError):
        verify(casework_key, message + b"\x00", "pull")


@pytest.mark.parametrize("skew", [-301, 301, -10**6])
def test_stale_or_future_messages_are_rejected(casework_key: SigningKey, skew: int) -> None:
    now = int(time.time())
    message = crypto.sign_message(casework_key, purpose="pull", body=b"", timestamp=now + skew)
    with pytest.raises(crypto.StaleMessage):
        verify(casework_key, message, "pull", now=now)


def test_message_for_another_purpose_is_rejected(casework_key: SigningKey) -> None:
    message = crypto.sign_message(casework_key, purpose="push", body=b"")
    with pytest.raises(crypto.WrongPurpose):
        verify(casework_key, message, "ack")


def test_response_to_another_request_is_rejected(casework_key: SigningKey) -> None:
    response = crypto.sign_message(casework_key, purpose="pull-response", body=b"",
                                   in_reply_to=b"\xaa" * 16)
    with pytest.raises(crypto.WrongPurpose):
        verify(casework_key, response, "pull-response", in_reply_to=b"\xbb" * 16)
    verified = verify(casework_key, response, "pull-response", in_reply_to=b"\xaa" * 16)
    assert verified.in_reply_to == b"\xaa" * 16


def test_forged_messages_do_not_fill_the_replay_cache(casework_key: SigningKey) -> None:
    cache = MemoryReplayCache(max_entries=2)
    for _ in range(10):
        forged = crypto.sign_message(SigningKey.generate(), purpose="pull", body=b"")
        with pytest.raises(crypto.ForgedMessage):
            verify(casework_key, forged, "pull", cache)
    good = crypto.sign_message(casework_key, purpose="pull", body=b"")
    verify(casework_key, good, "pull", cache)


def test_a_full_replay_cache_refuses_rather_than_forgets(casework_key: SigningKey) -> None:
    cache = MemoryReplayCache(max_entries=1)
    for index in range(2):
        message = crypto.sign_message(casework_key, purpose="pull", body=bytes([index]))
        if index == 0:
            verify(casework_key, message, "pull", cache)
        else:
            with pytest.raises(crypto.CryptoError):
                verify(casework_key, message, "pull", cache)


def test_oversized_body_is_refused(casework_key: SigningKey) -> None:
    message = crypto.sign_message(casework_key, purpose="push", body=b"x" * 2000)
    with pytest.raises(crypto.MalformedMessage):
        verify(casework_key, message, "push", max_body=1000)


@pytest.mark.parametrize("purpose", ["", "x" * 256])
def test_invalid_purposes_cannot_be_signed(casework_key: SigningKey, purpose: str) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.sign_message(casework_key, purpose=purpose, body=b"")


def test_documents_verify_regardless_of_age_but_not_for_another_purpose(
    casework_key: SigningKey,
) -> None:
    document = crypto.sign_document(casework_key, purpose="recipient-directory",
                                    body=b"{}", timestamp=1)
    verified = crypto.verify_document(casework_key.verify_key, document,
                                      purpose="recipient-directory")
    assert verified.body == b"{}"
    with pytest.raises(crypto.WrongPurpose):
        crypto.verify_document(casework_key.verify_key, document, purpose="pull")
    with pytest.raises(crypto.ForgedMessage):
        crypto.verify_document(SigningKey.generate().verify_key, document,
                               purpose="recipient-directory")
