"""Exceptions never carry secret material, whatever path raised them."""

from __future__ import annotations

import io
import traceback
from collections.abc import Callable

import pytest

import crypto
from crypto import Argon2Params, PrivateKey

PASSPHRASE = "hemlig-lösenfras-4711"
PLAINTEXT = b"SECRET-REPORT-MARKER-0xC0FFEE"


def _failures(
    reviewers: list[PrivateKey], params: Argon2Params, salt: bytes
) -> tuple[dict[str, Callable[[], object]], list[str]]:
    owner, stranger = reviewers[0], reviewers[1]
    envelope = crypto.seal_bytes(PLAINTEXT, [owner.public_key])
    tampered = bytearray(envelope.body)
    tampered[-5] ^= 1
    wrapped = crypto.wrap_private_key(owner, PASSPHRASE, params)
    receipt = crypto.generate_receipt()
    typo = receipt[:-1] + ("A" if receipt[-1] != "A" else "B")
    signer = crypto.SigningKey.generate()
    message = crypto.sign_message(signer, purpose="pull", body=PLAINTEXT)
    return {
        "unknown recipient": lambda: crypto.open_bytes(envelope, stranger),
        "tampered body": lambda: crypto.open_bytes(
            crypto.Envelope(envelope.header, bytes(tampered)), owner),
        "wrong passphrase": lambda: crypto.unwrap_private_key(wrapped, PASSPHRASE + "x"),
        "receipt typo": lambda: crypto.derive_receipt_keys(typo, salt, params),
        "forged sync": lambda: crypto.verify_message(
            crypto.SigningKey.generate().verify_key, message, purpose="pull",
            replay_cache=crypto.MemoryReplayCache()),
        "truncated stream": lambda: crypto.open_stream(
            envelope.header, io.BytesIO(envelope.body[:-30]), io.BytesIO(), owner),
    }, [PASSPHRASE, PLAINTEXT.decode(), receipt, typo, receipt.replace("-", ""),
        owner.raw_bytes().hex(), stranger.raw_bytes().hex(), signer.seed().hex()]


def test_exceptions_and_tracebacks_hold_no_secret(
    reviewers: list[PrivateKey], argon2_params: Argon2Params, instance_salt: bytes
) -> None:
    failures, secrets = _failures(reviewers, argon2_params, instance_salt)
    for name, action in failures.items():
        with pytest.raises(crypto.CryptoError) as raised:
            action()
        text = "".join(traceback.format_exception(raised.value))
        text += repr(raised.value) + str(raised.value)
        for secret in secrets:
            assert secret not in text, f"{name} leaks a secret"
        assert str(raised.value), f"{name} has no message"
