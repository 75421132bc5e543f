"""`make demo`: set up a demo instance under instance/ (once) and serve both apps.

intake on 127.0.0.1:8080, casework on 127.0.0.1:8081, all state in instance/, and one
enrolled demo account per role in instance/demo.json as
{role: {"username", "password", "totp_secret"}}. Until the bridge exists (issue 5),
`python -m scripts.demo_reviewer` plays a reviewer from the command line.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

import pyotp
from flask import Flask

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.accounts import complete_enrolment, create_user
from casework.cli import DEFAULT_UNITS
from casework.directory import export_directory
from casework.models import Role, Unit
from casework.services import current as casework_services
from common.serve import build_server
from intake import DirectoryRefused
from intake import create_app as create_intake

CHECKOUT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("LYKTA_INSTANCE", CHECKOUT / "instance"))
# One demo account per role (role, username, display name, unit), plus a second reviewer.
ACCOUNTS = [
    (Role.ADMINISTRATOR, "admin", "Astrid Admin", "kof"),
    (Role.UNIT_LEAD, "lena", "Lena Berg", "akt"),
    (Role.REVIEWER, "eva", "Eva Lindqvist", "etik"),
    (Role.CUSTODIAN, "cecilia", "Cecilia Holm", "kof"),
    (Role.STATISTICIAN, "stina", "Stina Ek", "kof"),
    (Role.AUDITOR, "olof", "Olof Strand", "kof"),
]
EXTRA_REVIEWERS = [("erik", "Erik Sandberg", "etik"), ("anna", "Anna Nord", "akt")]
ESCROW_PASSPHRASE = "kof escrow demo passphrase"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_up() -> None:
    """Create both instances, the demo accounts and the signed directory, once."""
    if (INSTANCE / "demo.json").exists() and (INSTANCE / "casework.json").exists():
        return
    print("Setting up a new demo instance in instance/ (production Argon2 cost, ~20 s)...")
    INSTANCE.mkdir(parents=True, exist_ok=True)
    signing = crypto.SigningKey.generate()
    _write_private(INSTANCE / "casework-signing.seed", signing.seed())
    escrow = crypto.generate_escrow_key()
    _write_private(INSTANCE / "demo-keys" / "escrow.key",
                   crypto.wrap_private_key(escrow, ESCROW_PASSPHRASE))
    _write_private(INSTANCE / "casework.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "argon2": crypto.PRODUCTION.to_dict(),
        "escrow_public_key": escrow.public_key.raw.hex(),
    }, indent=2).encode())
    app = create_casework(CaseworkConfig.from_instance(INSTANCE))
    demo: dict[str, dict[str, str]] = {}
    with app.app_context():
        services = casework_services()
        with services.db.session() as db:
            for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
                db.add(Unit(id=unit_id, name_sv=sv, name_en=en, alternate_unit_id=alternate,
                            receives_reports=receives))
        people = [(role, username, name, unit) for role, username, name, unit in ACCOUNTS]
        people += [(Role.REVIEWER, u, n, unit) for u, n, unit in EXTRA_REVIEWERS]
        for role, username, name, unit in people:
            password = f"{username}-demo-{secrets.token_hex(4)}"
            secret = pyotp.random_base32(32)
            with services.db.session() as db:
                user, _ = create_user(db, services.config, username=username,
                                      display_name=name, unit_id=unit, role=role)
                user.totp_secret, user_id = secret, user.id
            # Enrol with the previous time step, so the code showing now still works once.
            code = pyotp.TOTP(secret).at(time.time() - 30)
            complete_enrolment(services.db, services.config, user_id=user_id, code=code,
                               new_password=password)
            if (role, username, name, unit) in ACCOUNTS:
                demo[role.value] = {"username": username, "password": password,
                                    "totp_secret": secret}
        with services.db.session() as db:
            document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                        valid_for=dt.timedelta(days=365))
    (INSTANCE / "directory.signed").write_bytes(document)
    _write_private(INSTANCE / "intake.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "instance_salt": _b64(crypto.new_instance_salt()),
        "casework_verify_key": _b64(signing.verify_key.raw),
        "argon2": crypto.PRODUCTION.to_dict(),
    }, indent=2).encode())
    _write_private(INSTANCE / "demo.json", (json.dumps(demo, indent=2) + "\n").encode())


def _sync_forever(intake: Flask, casework: Flask) -> None:
    """Move reports to casework and replies to intake every few seconds (demo only)."""
    from scripts.local_bridge import sync_once

    while True:
        try:
            sync_once(intake.extensions["lykta.intake"], casework.extensions["lykta.casework"])
        except Exception as exc:  # keep the demo alive; say what failed (type only)
            print(f"demo sync failed: {type(exc).__name__}", file=sys.stderr)
        time.sleep(5)


def main() -> None:
    set_up()
    try:
        intake = create_intake()
    except DirectoryRefused as exc:
        # Refusing to start is the point: say why in one line, no traceback.
        print(f"intake refuses to start: {exc}", file=sys.stderr)
        sys.exit(1)
    casework = create_casework()
    servers = [build_server(intake, "127.0.0.1", 8080), build_server(casework, "127.0.0.1", 8081)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=_sync_forever, args=(intake, casework), daemon=True).start()
    demo = json.loads((INSTANCE / "demo.json").read_text())
    reviewer = demo["reviewer"]
    print(
        "\nLykta demo\n"
        "  intake (tipsters):   http://127.0.0.1:8080/   (works with JavaScript off)\n"
        "  casework (staff):    http://127.0.0.1:8081/   sign in with a demo account:\n"
        f"      reviewer {reviewer['username']} / {reviewer['password']}, TOTP secret "
        f"{reviewer['totp_secret']}\n"
        f"      current code: {pyotp.TOTP(reviewer['totp_secret']).now()} "
        "(python -c \"import pyotp;print(pyotp.TOTP('SECRET').now())\")\n"
        "      every role's account is in instance/demo.json\n"
        "  reports and replies move between the two every 5 seconds (an in-process\n"
        "      stand-in for the signed bridge of issue 5)\n"
        "  state:               instance/   (make demo-reset clears it)\n"
        "Stop with Ctrl-C.\n"
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopped.")


if __name__ == "__main__":
    main()
