"""The crypto walkthrough that `make demo` runs until the intake and casework apps exist.

It plays every role once with the real crypto core and production Argon2 parameters:
KOF makes the escrow key, two reviewers make and wrap their keys, a tipster seals a
report and a file to them, gets a receipt, a reviewer replies, and the tipster reads the
reply with nothing but the receipt. State goes under instance/ (git-ignored).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import crypto

INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def step(text: str) -> None:
    print(f"\n== {text}")


def main() -> None:
    state = INSTANCE / "walkthrough"
    state.mkdir(parents=True, exist_ok=True)
    # No app exists yet, so there are no demo accounts; the file keeps the demo contract.
    (INSTANCE / "demo.json").write_text("{}\n")

    print("Lykta crypto walkthrough (the intake and casework apps arrive in later issues).")
    print(f"Argon2id production parameters: {crypto.PRODUCTION}")

    step("KOF creates the offline escrow key; two reviewers create their key pairs")
    escrow = crypto.generate_escrow_key()
    alice, bertil = crypto.PrivateKey.generate(), crypto.PrivateKey.generate()
    for name, key, passphrase in (("escrow", escrow, "kof escrow passphrase"),
                                  ("alice", alice, "alice passphrase"),
                                  ("bertil", bertil, "bertil passphrase")):
        started = time.perf_counter()
        wrapped = crypto.wrap_private_key(key, passphrase)
        (state / f"{name}.key").write_bytes(wrapped)
        (state / f"{name}.pub").write_text(key.public_key.raw.hex() + "\n")
        print(f"  {name:7} key id {key.public_key.key_id_hex}  wrapped in "
              f"{time.perf_counter() - started:.2f}s -> instance/walkthrough/{name}.key")

    step("A tipster seals a report and a file to both reviewers and the escrow key")
    recipients = [alice.public_key, bertil.public_key, escrow.public_key]
    report = "Upphandlingen av IT-konsulter gick till svågerns bolag.".encode()
    envelope = crypto.seal_bytes(report, recipients, routing={"kind": "report",
                                                             "unit": "antikorruption"})
    attachment = io.BytesIO(b"%PDF-1.4 pretend invoice " * 4000)
    file_body = io.BytesIO()
    sealed_file = crypto.seal_stream(attachment, file_body, recipients,
                                     routing={"kind": "file"})
    print(f"  report: {len(report)} bytes -> body {len(envelope.body)} bytes "
          f"(padded), header with {len(crypto.header_key_ids(envelope.header))} recipients")
    print(f"  file:   {sealed_file.plaintext_size} bytes -> body {sealed_file.body_size} bytes")

    step("The tipster gets a receipt; intake keeps only a lookup token and a public key")
    salt = crypto.new_instance_salt()
    receipt = crypto.generate_receipt()
    started = time.perf_counter()
    tipster = crypto.derive_receipt_keys(receipt, salt)
    print(f"  receipt code: {receipt}   (derived in {time.perf_counter() - started:.2f}s)")
    print(f"  intake stores token {tipster.lookup_token.hex()[:16]}... and the public key")

    step("Alice unwraps her key with her passphrase and reads the report")
    alice_again = crypto.unwrap_private_key((state / "alice.key").read_bytes(),
                                            "alice passphrase")
    plaintext, opened = crypto.open_bytes(envelope, alice_again)
    print(f"  routing {dict(opened.routing)}: {plaintext.decode()}")
    file_plain = io.BytesIO()
    crypto.open_stream(sealed_file.header, io.BytesIO(file_body.getvalue()), file_plain,
                       alice_again)
    print(f"  file opens: {file_plain.getvalue() == attachment.getvalue()}")

    step("Alice replies; the reply is sealed to the tipster key")
    reply = crypto.seal_bytes("Tack! Vilket år gällde upphandlingen?".encode(),
                              [tipster.tipster_public_key])

    step("The tipster types the receipt again (lower case, spaces) and reads the reply")
    typed = receipt.lower().replace("-", " ")
    back = crypto.derive_receipt_keys(typed, salt)
    print(f"  same lookup token as at submission: {back.lookup_token == tipster.lookup_token}")
    print(f"  reply: {crypto.open_bytes(reply, back.tipster_key)[0].decode()}")

    step("What fails, and how")
    typo = receipt[:3] + ("X" if receipt[3] != "X" else "Y") + receipt[4:]
    for label, action in (
        ("a typo in the receipt", lambda: crypto.normalize_receipt(typo)),
        ("a wrong passphrase", lambda: crypto.unwrap_private_key(
            (state / "bertil.key").read_bytes(), "guess")),
        ("one flipped bit in the body", lambda: crypto.open_bytes(
            crypto.Envelope(envelope.header,
                            envelope.body[:-3] + bytes([envelope.body[-3] ^ 1])
                            + envelope.body[-2:]), alice)),
        ("someone not among the recipients", lambda: crypto.open_bytes(
            envelope, crypto.PrivateKey.generate())),
    ):
        try:
            action()
        except crypto.CryptoError as exc:
            print(f"  {label}: refused ({type(exc).__name__}: {exc})")

    summary = {"escrow": escrow.public_key.key_id_hex, "reviewers": {
        "alice": alice.public_key.key_id_hex, "bertil": bertil.public_key.key_id_hex}}
    (state / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\nDone. State is in instance/walkthrough/; `make demo-reset` clears it.")


if __name__ == "__main__":
    main()
