"""An intake and a casework app linked in-process, as the demo links them until issue 5."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import crypto
from casework.directory import export_directory
from casework.models import Role
from intake import IntakeConfig
from intake import create_app as create_intake
from intake.services import Intake
from scripts.local_bridge import sync_once

from .conftest import Staff, services


@dataclass
class Linked:
    intake: Flask
    casework: Flask
    staff: dict[str, Staff]
    escrow: crypto.PrivateKey
    signing: crypto.SigningKey  # casework's key, pinned by intake

    def sync(self) -> tuple[int, int]:
        intake: Intake = self.intake.extensions["lykta.intake"]
        return sync_once(intake, services(self.casework))


@pytest.fixture
def linked(make_casework: Callable[..., Flask], enrol: Callable[..., Staff], tmp_path: Path,
           argon2_params: crypto.Argon2Params) -> Linked:
    escrow = crypto.generate_escrow_key()
    casework = make_casework(escrow_public_key=escrow.public_key.raw)
    staff = {
        "eva": enrol("eva", Role.REVIEWER, "etik"),
        "erik": enrol("erik", Role.REVIEWER, "etik"),
        "anna": enrol("anna", Role.REVIEWER, "akt"),
        "lena": enrol("lena", Role.UNIT_LEAD, "akt"),
        "cecilia": enrol("cecilia", Role.CUSTODIAN, "kof"),
        "admin": enrol("admin", Role.ADMINISTRATOR, "kof"),
        "stina": enrol("stina", Role.STATISTICIAN, "kof"),
    }
    signing = crypto.SigningKey.generate()
    with services(casework).db.session() as db:
        document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                    valid_for=dt.timedelta(days=30))
    intake_dir = tmp_path / "intake"
    intake_dir.mkdir()
    (intake_dir / "directory.signed").write_bytes(document)
    intake = create_intake(IntakeConfig(
        instance_path=intake_dir, database_url=f"sqlite:///{intake_dir / 'intake.sqlite'}",
        storage_path=intake_dir / "storage", secret_key=b"i" * 32,
        casework_verify_key=signing.verify_key.raw,
        directory_path=intake_dir / "directory.signed", instance_salt=b"t" * 16,
        argon2=argon2_params, login_floor_seconds=0.0))
    intake.config["TESTING"] = True
    services(casework).config.signing_key_path.write_bytes(signing.seed())
    return Linked(intake, casework, staff, escrow, signing)
