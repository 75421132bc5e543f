"""One instance folder with both apps' configuration files, as the demo lays them out."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from pathlib import Path

import crypto
from casework import CaseworkConfig, create_app
from casework.directory import export_directory
from casework.models import Role

from .casework import Staff, add_default_units, enrol, services

# Who write_instance enrols: (username, role, unit).
STAFF = (("eva", Role.REVIEWER, "etik"), ("anna", Role.REVIEWER, "akt"),
         ("cecilia", Role.CUSTODIAN, "kof"))


def write_instance(root: Path, argon2: crypto.Argon2Params,
                   casework: dict[str, object] | None = None,
                   intake: dict[str, object] | None = None
                   ) -> tuple[dict[str, Staff], crypto.PrivateKey]:
    """Write ``casework.json``, ``intake.json``, casework's signing seed and the signed
    directory into a new folder ``root``, at the given Argon2 cost; ``casework`` and
    ``intake`` add settings to each file. Casework's database gets its units and STAFF,
    enrolled in-process before any server starts. Return the staff and the escrow key."""
    root.mkdir(parents=True)
    signing = crypto.SigningKey.generate()
    (root / "casework-signing.seed").write_bytes(signing.seed())
    escrow = crypto.generate_escrow_key()
    intake_seed = secrets.token_bytes(32)
    (root / "casework.json").write_text(json.dumps({
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "argon2": argon2.to_dict(),
        "escrow_public_key": escrow.public_key.raw.hex(),
        "intake_verify_key": crypto.SigningKey.from_seed(intake_seed).verify_key.raw.hex(),
        **(casework or {}),
    }))
    app = create_app(CaseworkConfig.from_instance(root))
    add_default_units(app)
    staff = {username: enrol(app, username, role, unit) for username, role, unit in STAFF}
    with services(app).db.session() as db:
        document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                    valid_for=dt.timedelta(days=30))
    services(app).db.engine.dispose()
    (root / "directory.signed").write_bytes(document)
    (root / "intake.json").write_text(json.dumps({
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "instance_salt": base64.b64encode(crypto.new_instance_salt()).decode(),
        "casework_verify_key": base64.b64encode(signing.verify_key.raw).decode(),
        "argon2": argon2.to_dict(),
        "sync_signing_seed": base64.b64encode(intake_seed).decode(),
        **(intake or {}),
    }))
    return staff, escrow
