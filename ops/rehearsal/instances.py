"""The rehearsal's two instances: keys, settings files, units, reviewers, the directory.

Run by ``ops/rehearse.sh`` in two steps, with the ``LYKTA_*`` environment the script
exports (database URLs, Redis, Argon2 cost, the sync URL):

- ``configure ROOT``: intake's and casework's instance folders (``ROOT/intake``,
  ``ROOT/casework``) with what only they hold: intake.json and casework.json with the
  secrets (0600), casework's signing seed. Everything that differs between machines
  comes from the environment, as in production.
- ``accounts ROOT`` (after ``flask --app casework db upgrade``): the default units, two
  enrolled reviewers (one for each unit that receives reports; the first signs in), and
  the signed recipient directory installed in intake's folder. The reviewer's password
  and TOTP secret go to ``ROOT/reviewer.json`` (0600) for the driver.

It is a rehearsal, not a deployment: the escrow key's private half is thrown away (the
offline escrow key ceremony is not rehearsed), and the Argon2 cost is whatever the
environment says (the script asks for the insecure fast one).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import sys
import time
from pathlib import Path

import pyotp

import crypto

# (username, display name, unit): the first is the reviewer the driver signs in as.
REVIEWERS = (("eva", "Eva Rehearsal", "etik"), ("anders", "Anders Rehearsal", "akt"))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def configure(root: Path) -> None:
    """Both settings files and casework's signing seed; no database is touched."""
    signing = crypto.SigningKey.generate()
    intake_seed = secrets.token_bytes(32)
    salt = crypto.new_instance_salt()
    escrow = crypto.generate_escrow_key()
    _write_private(root / "casework" / "casework-signing.seed", signing.seed())
    _write_private(root / "casework" / "casework.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "escrow_public_key": escrow.public_key.raw.hex(),
        # The bridge: intake's pinned sync key (its URL comes from the environment).
        "intake_verify_key": crypto.SigningKey.from_seed(intake_seed).verify_key.raw.hex(),
        # Oral reports derive receipts as intake does.
        "intake_receipt_salt": salt.hex(),
    }, indent=2).encode())
    _write_private(root / "intake" / "intake.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "instance_salt": _b64(salt),
        "casework_verify_key": _b64(signing.verify_key.raw),
        "sync_signing_seed": _b64(intake_seed),
    }, indent=2).encode())


def accounts(root: Path) -> None:
    """Units, enrolled reviewers and intake's signed directory (casework migrated)."""
    from casework import CaseworkConfig, create_app
    from casework.accounts import create_user
    from casework.cli import DEFAULT_UNITS
    from casework.directory import export_directory
    from casework.enrolment import complete_enrolment
    from casework.events import UnitAdded
    from casework.models import Role, Unit
    from casework.services import EXTENSION, Casework
    from common.unit_of_work import emit_on

    app = create_app(CaseworkConfig.from_instance(root / "casework"))
    services: Casework = app.extensions[EXTENSION]
    config = services.config
    with app.app_context():
        # Each step in a unit of work, as the CLI takes it: the audit log records them.
        with services.unit() as work:
            for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
                work.session.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                                      alternate_unit_id=alternate, receives_reports=receives))
                emit_on(work.session, UnitAdded(unit_id, alternate, receives))
        known: dict[str, str] = {}
        for username, name, unit in REVIEWERS:
            password, secret = f"{username}-{secrets.token_hex(8)}", pyotp.random_base32(32)
            with services.unit() as work:
                user, _ = create_user(work.session, config, username=username,
                                      display_name=name, unit_id=unit, role=Role.REVIEWER)
                user.totp_secret, user_id = secret, user.id
            # Enrol with the previous time step: the current one stays free for sign-in.
            now = time.time()
            complete_enrolment(services.db, config, user_id=user_id,
                               code=pyotp.TOTP(secret).at((int(now) // 30 - 1) * 30),
                               new_password=password, now=now,
                               dispatcher=services.dispatcher)
            if not known:
                known = {"username": username, "password": password, "totp_secret": secret}
        with services.unit() as work:
            escrow = (crypto.PublicKey(config.escrow_public_key)
                      if config.escrow_public_key else None)
            document = export_directory(
                work.session, signing_key=crypto.SigningKey.from_seed(
                    config.signing_key_path.read_bytes()),
                escrow=escrow, valid_for=dt.timedelta(days=config.directory_valid_days))
    services.db.engine.dispose()
    (root / "intake" / "directory.signed").write_bytes(document)
    _write_private(root / "reviewer.json", json.dumps(known).encode())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("configure", "accounts"):
        print("usage: instances.py configure|accounts ROOT", file=sys.stderr)
        return 2
    root = Path(argv[1]).resolve()
    configure(root) if argv[0] == "configure" else accounts(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
