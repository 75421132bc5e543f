"""Generate the known-answer vectors in tests/crypto/vectors/ (run once per format version).

Everything is derived from fixed keys, ids, salts and nonces through the public API.
Sealing is randomised by design (ephemeral sealed-box keys, secretstream headers), so
for envelopes and wrapped keys the vectors are checked in the decrypt direction: the
committed bytes must keep opening to the committed plaintext. Deterministic outputs
(key ids, receipts, Padmé, signatures) are checked byte for byte.

Usage: .venv/bin/python scripts/make_vectors.py
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import crypto
from crypto.envelope import seal_stream

OUT = Path(__file__).resolve().parent.parent / "tests" / "crypto" / "vectors"


def fixed_key(byte: int) -> crypto.PrivateKey:
    return crypto.PrivateKey.from_raw(bytes([byte]) * 32)


def write(name: str, payload: object) -> None:
    (OUT / name).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    keys = [fixed_key(b) for b in (0x11, 0x22, 0x33)]

    write("key_ids.json", [
        {"private_key": (bytes([b]) * 32).hex(),
         "public_key": k.public_key.raw.hex(), "key_id": k.key_id.hex()}
        for b, k in zip((0x11, 0x22, 0x33), keys, strict=True)
    ])

    write("padme.json", [
        {"length": n, "padme": crypto.padme(n), "padded_size": crypto.padded_size(n)}
        for n in (0, 1, 2, 3, 9, 1000, 1024, 1025, 5120, 5121, 65536, 65537, 10**6,
                  2**30 + 1)
    ])

    salt = bytes(range(16))
    receipts = []
    for code, params in (("K7M3Q-9XD4H-PT2WN-BRF", crypto.INSECURE_FAST),
                         ("0000000000000000000", crypto.INSECURE_FAST),
                         ("ZZZZZZZZZZZZZZZZZZ", crypto.PRODUCTION)):
        body = code.replace("-", "")[:18]
        full = crypto.format_receipt(body + crypto.receipt._check_chars(body))
        derived = crypto.derive_receipt_keys(full, salt, params)
        receipts.append({
            "receipt": full, "instance_salt": salt.hex(), "params": params.to_dict(),
            "lookup_token": derived.lookup_token.hex(),
            "tipster_public_key": derived.tipster_public_key.raw.hex(),
        })
    write("receipts.json", receipts)

    write("wrapped_keys.json", [{
        "private_key": (bytes([0x11]) * 32).hex(),
        "passphrase": "korrekt häst batteri häftklammer",
        "wrapped": crypto.wrap_private_key(keys[0], "korrekt häst batteri häftklammer",
                                           crypto.INSECURE_FAST).hex(),
    }])

    envelopes = []
    for index, (size, chunk) in enumerate(((0, 65536), (37, 65536), (9000, 4096))):
        plaintext = bytes((i * 7 + index) % 251 for i in range(size))
        routing = {"kind": "report", "unit": "etikkommitten"}
        out = io.BytesIO()
        sealed = seal_stream(io.BytesIO(plaintext), out, [k.public_key for k in keys[:2]],
                             routing=routing, chunk_size=chunk,
                             envelope_id=bytes([0xE0 + index]) * 16)
        envelopes.append({
            "recipients": [(bytes([b]) * 32).hex() for b in (0x11, 0x22)],
            "non_recipient": (bytes([0x33]) * 32).hex(),
            "envelope_id": sealed.envelope_id.hex(), "routing": routing,
            "chunk_size": chunk, "plaintext": plaintext.hex(),
            "header": sealed.header.hex(), "body": out.getvalue().hex(),
        })
    write("envelopes.json", envelopes)

    signer = crypto.SigningKey.from_seed(bytes([0x44]) * 32)
    write("sync_messages.json", [{
        "seed": (bytes([0x44]) * 32).hex(), "verify_key": signer.verify_key.raw.hex(),
        "purpose": purpose, "body": body.hex(), "timestamp": 1_790_000_000,
        "nonce": nonce.hex(), "in_reply_to": reply.hex(),
        "message": crypto.sign_message(signer, purpose=purpose, body=body,
                                       in_reply_to=reply, timestamp=1_790_000_000,
                                       nonce=nonce).hex(),
    } for purpose, body, nonce, reply in (
        ("pull", b'{"batch":50}', bytes([0x55]) * 16, b""),
        ("pull-response", b"\x00\x01\x02", bytes([0x66]) * 16, bytes([0x55]) * 16),
    )])
    print(f"vectors written to {OUT}")


if __name__ == "__main__":
    main()
