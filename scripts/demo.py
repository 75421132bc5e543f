"""`make demo`: set up a demo instance under instance/ (once) and serve intake on :8080.

The casework app does not exist yet (issue 4): until then `scripts/demo_reviewer.py`
plays the reviewer from the command line with the demo reviewers' keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from pathlib import Path

import crypto
from casework.directory import Listed, UnitEntry, build_directory, sign_directory
from intake import DirectoryRefused, create_app
from intake.categories import CATEGORIES
from intake.serve import build_server

CHECKOUT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("LYKTA_INSTANCE", CHECKOUT / "instance"))
KEYS = INSTANCE / "demo-keys"
# Demo reviewers: (unit, display name, passphrase). Passphrases are demo-only.
REVIEWERS = [
    ("etik", "Eva Lindqvist", "eva demo passphrase"),
    ("etik", "Erik Sandberg", "erik demo passphrase"),
    ("akt", "Anna Berg", "anna demo passphrase"),
]
CUSTODIAN = ("Cecilia Holm", "cecilia demo passphrase")
ESCROW_PASSPHRASE = "kof escrow demo passphrase"


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def set_up() -> None:
    """Create keys, the signed directory and intake.json, unless they exist."""
    if (INSTANCE / "intake.json").exists():
        return
    print("Setting up a new demo instance in instance/ (keys at production Argon2 cost)...")
    signing = crypto.SigningKey.generate()
    _write_secret(KEYS / "casework-signing.seed", signing.seed())
    escrow = crypto.generate_escrow_key()
    _write_secret(KEYS / "escrow.key", crypto.wrap_private_key(escrow, ESCROW_PASSPHRASE))
    people: dict[str, list[Listed]] = {"etik": [], "akt": []}
    roster = []
    for unit, name, passphrase in REVIEWERS:
        key = crypto.PrivateKey.generate()
        slug = name.split()[0].lower()
        _write_secret(KEYS / f"{slug}.key", crypto.wrap_private_key(key, passphrase))
        people[unit].append(Listed(name, key.public_key))
        roster.append({"name": name, "unit": unit, "key_file": f"demo-keys/{slug}.key",
                       "passphrase": passphrase})
    custodian = crypto.PrivateKey.generate()
    _write_secret(KEYS / "cecilia.key", crypto.wrap_private_key(custodian, CUSTODIAN[1]))
    body = build_directory(
        serial=1,
        units=[UnitEntry("etik", {"sv": "Etikkommittén", "en": "Ethics committee"},
                         people["etik"], alternate_unit="akt"),
               UnitEntry("akt", {"sv": "Antikorruptionsteamet", "en": "Anti-corruption team"},
                         people["akt"], alternate_unit="etik")],
        routes={**{c: "etik" for c in CATEGORIES},
                "corruption": "akt", "procurement": "akt", "funds": "akt"},
        escrow=escrow.public_key,
        custodians=[Listed(CUSTODIAN[0], custodian.public_key)],
    )
    (INSTANCE / "directory.signed").write_bytes(sign_directory(body, signing))
    config = {
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "instance_salt": base64.b64encode(crypto.new_instance_salt()).decode(),
        "casework_verify_key": base64.b64encode(signing.verify_key.raw).decode(),
        "argon2": crypto.PRODUCTION.to_dict(),
    }
    _write_secret(INSTANCE / "intake.json", json.dumps(config, indent=2).encode())
    (INSTANCE / "demo-reviewers.json").write_text(json.dumps(roster, indent=2) + "\n")
    # No casework accounts exist yet, so no role has a demo account (issue 4 adds them).
    (INSTANCE / "demo.json").write_text("{}\n")


def main() -> None:
    set_up()
    try:
        app = create_app()
    except DirectoryRefused as exc:
        # Refusing to start is the point: say why in one line, no traceback.
        print(f"intake refuses to start: {exc}", file=sys.stderr)
        sys.exit(1)
    server = build_server(app, "127.0.0.1", 8080)
    print(
        "\nLykta demo\n"
        "  intake (tipsters):   http://127.0.0.1:8080/   (works with JavaScript off)\n"
        "  casework:            not built yet (issue 4); meanwhile play the reviewer with\n"
        "                       .venv/bin/python -m scripts.demo_reviewer list|reply ...\n"
        "  state:               instance/   (make demo-reset clears it)\n"
        "Stop with Ctrl-C.\n"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
        sys.exit(0)


if __name__ == "__main__":
    main()
