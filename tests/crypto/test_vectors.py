"""Known-answer vectors (tests/crypto/vectors/, made by scripts/make_vectors.py).

Deterministic outputs must match byte for byte; randomised ones (envelopes, wrapped keys)
must keep opening to the committed plaintext. Either way the format cannot drift
silently: a change that breaks these tests needs a new format version.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest

import crypto
from crypto.envelope import Preamble, read_preamble

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((VECTORS / name).read_text())
    assert data, f"{name} holds no vectors"
    return data


def key(hex_raw: str) -> crypto.PrivateKey:
    return crypto.PrivateKey.from_raw(bytes.fromhex(hex_raw))


def _size_id(vector: dict[str, Any]) -> str:
    return f"{len(vector['plaintext']) // 2}B"


@pytest.mark.parametrize("vector", load("key_ids.json"))
def test_key_id_matches_vector(vector: dict[str, Any]) -> None:
    private = key(vector["private_key"])
    assert private.public_key.raw.hex() == vector["public_key"]
    assert private.key_id.hex() == vector["key_id"]


@pytest.mark.parametrize("vector", load("padme.json"))
def test_padding_matches_vector(vector: dict[str, Any]) -> None:
    assert crypto.padme(vector["length"]) == vector["padme"]
    assert crypto.padded_size(vector["length"]) == vector["padded_size"]


@pytest.mark.parametrize(
    "vector", load("receipts.json"), ids=lambda v: f"t{v['params']['t']}-m{v['params']['m']}"
)
def test_receipt_derivation_matches_vector(vector: dict[str, Any]) -> None:
    # One of these vectors uses crypto.PRODUCTION, so production-cost Argon2 runs on
    # every test run (about half a second).
    params = crypto.Argon2Params.from_dict(vector["params"])
    derived = crypto.derive_receipt_keys(
        vector["receipt"], bytes.fromhex(vector["instance_salt"]), params
    )
    assert derived.lookup_token.hex() == vector["lookup_token"]
    assert derived.tipster_public_key.raw.hex() == vector["tipster_public_key"]


def test_receipt_vectors_cover_production_parameters() -> None:
    assert any(
        crypto.Argon2Params.from_dict(v["params"]) == crypto.PRODUCTION
        for v in load("receipts.json")
    )


@pytest.mark.parametrize("vector", load("wrapped_keys.json"))
def test_wrapped_key_vector_still_unwraps(vector: dict[str, Any]) -> None:
    unwrapped = crypto.unwrap_private_key(bytes.fromhex(vector["wrapped"]), vector["passphrase"])
    assert unwrapped.raw_bytes().hex() == vector["private_key"]


@pytest.mark.parametrize("vector", load("envelopes.json"), ids=_size_id)
def test_envelope_vector_opens_for_every_recipient(vector: dict[str, Any]) -> None:
    envelope = crypto.Envelope(bytes.fromhex(vector["header"]), bytes.fromhex(vector["body"]))
    for raw in vector["recipients"]:
        plaintext, opened = crypto.open_bytes(envelope, key(raw))
        assert plaintext.hex() == vector["plaintext"]
        assert opened.envelope_id.hex() == vector["envelope_id"]
        assert dict(opened.routing) == vector["routing"]
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_bytes(envelope, key(vector["non_recipient"]))


@pytest.mark.parametrize("vector", load("envelopes.json"), ids=_size_id)
def test_envelope_vector_layout_follows_format_md(vector: dict[str, Any]) -> None:
    """Rebuild the preamble and framing from FORMAT.md by hand, independent of the code."""
    body = bytes.fromhex(vector["body"])
    routing = json.dumps(vector["routing"], sort_keys=True, separators=(",", ":")).encode()
    chunk_size = vector["chunk_size"]
    expected_context = (
        b"LYKB" + bytes([1, chunk_size.bit_length() - 1])
        + bytes.fromhex(vector["envelope_id"]) + struct.pack(">H", len(routing)) + routing
    )
    assert body.startswith(expected_context)
    preamble, _ = read_preamble(io.BytesIO(body))
    assert preamble == Preamble(1, chunk_size.bit_length() - 1,
                                bytes.fromhex(vector["envelope_id"]), vector["routing"])

    # Frames: all but the last two carry a full chunk; payload totals the Padmé size.
    pos = len(expected_context) + 24
    plaintext_sizes = []
    while pos < len(body):
        (frame,) = struct.unpack_from(">I", body, pos)
        plaintext_sizes.append(frame - 17)
        pos += 4 + frame
    assert pos == len(body)
    assert plaintext_sizes[-1] == 4
    assert all(size == chunk_size for size in plaintext_sizes[:-2])
    length = len(vector["plaintext"]) // 2
    assert sum(plaintext_sizes) == crypto.padded_size(length + 4)

    header = bytes.fromhex(vector["header"])
    assert header[:5] == b"LYKH\x01"
    assert header[5:21].hex() == vector["envelope_id"]
    assert struct.unpack_from(">H", header, 21)[0] == len(vector["recipients"])
    assert len(header) == 23 + len(vector["recipients"]) * (16 + 96)


@pytest.mark.parametrize("vector", load("sync_messages.json"), ids=lambda v: v["purpose"])
def test_sync_message_matches_vector(vector: dict[str, Any]) -> None:
    signer = crypto.SigningKey.from_seed(bytes.fromhex(vector["seed"]))
    assert signer.verify_key.raw.hex() == vector["verify_key"]
    message = crypto.sign_message(
        signer,
        purpose=vector["purpose"],
        body=bytes.fromhex(vector["body"]),
        in_reply_to=bytes.fromhex(vector["in_reply_to"]),
        timestamp=vector["timestamp"],
        nonce=bytes.fromhex(vector["nonce"]),
    )
    assert message.hex() == vector["message"]
    verified = crypto.verify_message(
        crypto.VerifyKey(bytes.fromhex(vector["verify_key"])),
        bytes.fromhex(vector["message"]),
        purpose=vector["purpose"],
        replay_cache=crypto.MemoryReplayCache(),
        now=vector["timestamp"],
    )
    assert verified.body.hex() == vector["body"]
