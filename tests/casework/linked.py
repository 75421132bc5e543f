"""An intake and a casework app linked in-process, as the demo links them until issue 5."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import crypto
from casework.models import Role
from intake.services import Intake
from scripts.local_bridge import sync_once
from tests.support.casework import link_intake

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
    intake, signing = link_intake(casework, tmp_path / "intake", escrow, argon2_params)
    intake.config["TESTING"] = True
    return Linked(intake, casework, staff, escrow, signing)
