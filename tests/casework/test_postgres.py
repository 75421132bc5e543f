"""Casework on PostgreSQL: sign-in, a case arriving, a reply going back."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
from flask import Flask
from sqlalchemy import select

import crypto
from casework.accounts import create_user
from casework.directory import export_directory
from casework.enrolment import complete_enrolment
from casework.models import Case, Role
from intake import IntakeConfig
from intake import create_app as create_intake
from scripts.local_bridge import sync_once
from tests.intake.conftest import sign_in, submit

from .conftest import PASSWORD, Staff, csrf, log_in, services


def test_case_round_trip_on_postgresql(make_casework: Callable[..., Flask], tmp_path: Path,
                                       new_postgres_database: Callable[[], str],
                                       argon2_params: crypto.Argon2Params) -> None:
    escrow = crypto.generate_escrow_key()
    casework = make_casework(database_url=new_postgres_database(),
                             escrow_public_key=escrow.public_key.raw)
    config = services(casework).config
    staff = {}
    for username, unit in (("eva", "etik"), ("anna", "akt")):
        with services(casework).db.session() as db:
            user, _ = create_user(db, config, username=username, display_name=username,
                                  unit_id=unit, role=Role.REVIEWER)
            user.totp_secret, user_id = pyotp.random_base32(32), user.id
            secret = user.totp_secret
        complete_enrolment(services(casework).db, config, user_id=user_id,
                           code=pyotp.TOTP(secret).at(time.time() - 30), new_password=PASSWORD)
        staff[username] = Staff(username, PASSWORD, secret, None)
    signing = crypto.SigningKey.generate()
    with services(casework).db.session() as db:
        document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                    valid_for=dt.timedelta(days=1))
    (tmp_path / "directory.signed").write_bytes(document)
    intake = create_intake(IntakeConfig(
        instance_path=tmp_path, database_url=new_postgres_database(),
        storage_path=tmp_path / "intake-storage", secret_key=b"i" * 32,
        casework_verify_key=signing.verify_key.raw,
        directory_path=tmp_path / "directory.signed", instance_salt=b"t" * 16,
        argon2=argon2_params, login_floor_seconds=0.0))
    tipster = intake.test_client()
    receipt = submit(tipster, category="ethics", what="On PostgreSQL")
    assert sync_once(intake.extensions["lykta.intake"], services(casework)) == (1, 1)
    eva = casework.test_client()
    log_in(casework, eva, staff["eva"])
    with services(casework).db.session() as db:
        case_id = db.scalars(select(Case)).one().id
    assert "On PostgreSQL" in eva.get(f"/cases/{case_id}").get_data(as_text=True)
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": "Thanks, noted."})
    sync_once(intake.extensions["lykta.intake"], services(casework))
    sign_in(tipster, receipt)
    assert "Thanks, noted." in tipster.get("/dialogue").get_data(as_text=True)
