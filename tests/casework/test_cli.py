"""The casework CLI: accounts, key ceremonies, and the directory that intake accepts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from flask import Flask

import crypto
from casework.models import Role
from common import settings
from common.directory import verify_directory

from .conftest import Staff


def run(app: Flask, *args: str, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_users_create_prints_a_one_time_password(casework: Flask) -> None:
    output = run(casework, "users", "create", "eva", "--name", "Eva L", "--unit", "etik",
                 "--role", "reviewer")
    assert re.search(r"One-time password: \S{12,}", output)
    failed = casework.test_cli_runner().invoke(args=["users", "create", "eva", "--name", "X",
                                                     "--unit", "etik", "--role", "reviewer"])
    assert failed.exit_code != 0 and "taken" in failed.output


def test_directory_export_is_accepted_by_intake(
    make_casework: Callable[..., Flask], enrol: Callable[..., Staff], tmp_path: Path,
    casework: Flask,
) -> None:
    output = run(casework, "keys", "escrow-init", "--out", str(tmp_path / "escrow.key"),
                 input="escrow passphrase\nescrow passphrase\n")
    escrow_hex = re.search(r'"escrow_public_key": "([0-9a-f]{64})"', output)
    assert escrow_hex
    assert oct(os.stat(tmp_path / "escrow.key").st_mode & 0o777) == "0o600"
    pinned = re.search(r"in intake.json as casework_verify_key: (\S+)", run(
        casework, "keys", "signing-init"))
    assert pinned
    # Printed as intake.json reads it: base64 of the 32-byte key (hex would be misread).
    verify_key = settings.base64_bytes("casework_verify_key", pinned.group(1), tmp_path)
    assert len(verify_key) == 32
    app = make_casework(escrow_public_key=bytes.fromhex(escrow_hex.group(1)))
    eva = enrol("eva", Role.REVIEWER, "etik")
    anna = enrol("anna", Role.REVIEWER, "akt")
    cecilia = enrol("cecilia", Role.CUSTODIAN, "kof")
    run(app, "directory", "export", "--out", str(tmp_path / "directory.signed"))
    directory = verify_directory((tmp_path / "directory.signed").read_bytes(),
                                 crypto.VerifyKey(verify_key))
    assert eva.key and anna.key and cecilia.key
    assert [p.key_id for p in directory.units["etik"].reviewers] == [eva.key.public_key.key_id_hex]
    assert [p.key_id for p in directory.units["akt"].reviewers] == [anna.key.public_key.key_id_hex]
    assert [p.key_id for p in directory.custodians] == [cecilia.key.public_key.key_id_hex]
    assert "kof" not in directory.units
    # Each export gets a higher serial, so intake can refuse a rollback.
    run(app, "directory", "export", "--out", str(tmp_path / "second.signed"))
    second = verify_directory((tmp_path / "second.signed").read_bytes(),
                              crypto.VerifyKey(verify_key))
    assert second.serial == directory.serial + 1


def test_directory_export_refuses_without_escrow_or_reviewers(
    casework: Flask, enrol: Callable[..., Staff], tmp_path: Path
) -> None:
    run(casework, "keys", "signing-init")
    result = casework.test_cli_runner().invoke(
        args=["directory", "export", "--out", str(tmp_path / "d")])
    assert result.exit_code != 0 and "escrow" in result.output


def test_signing_key_is_never_overwritten(casework: Flask) -> None:
    run(casework, "keys", "signing-init")
    result = casework.test_cli_runner().invoke(args=["keys", "signing-init"])
    assert result.exit_code != 0 and "refusing" in result.output


def test_reset_password_then_re_enrol_keeps_the_key_with_the_previous_password(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    import pyotp

    eva = enrol("eva", Role.REVIEWER)
    output = run(casework, "users", "reset-password", "eva")
    temporary = output.rsplit(": ", 1)[1].strip()
    client = casework.test_client()
    from .conftest import csrf

    client.post("/login", data={"csrf_token": csrf(client, "/login"), "username": "eva",
                                "password": temporary, "code": ""})
    page = client.get("/enrol").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    new_password = "a brand new passphrase"
    response = client.post("/enrol", data={
        "csrf_token": csrf(client, "/enrol"), "code": pyotp.TOTP(secret).now(),
        "new_password": new_password, "confirm": new_password,
        "previous_password": eva.password})
    assert response.status_code == 302
    from sqlalchemy import select

    from casework.models import User

    from .conftest import services
    with services(casework).db.session() as db:
        user = db.scalar(select(User).where(User.username == "eva"))
        assert user is not None and user.wrapped_key is not None
        kept = crypto.unwrap_private_key(user.wrapped_key, new_password)
    assert eva.key is not None and kept.key_id == eva.key.key_id


def test_config_from_instance_folder(casework: Flask, tmp_path: Path) -> None:
    import base64
    import json

    from casework import CaseworkConfig

    (tmp_path / "casework.json").write_text(json.dumps({
        "secret_key": base64.b64encode(b"x" * 32).decode(), "argon2": {"t": 1, "m": 8, "p": 1}}))
    config = CaseworkConfig.from_instance(tmp_path)
    assert config.database_url.endswith("casework.sqlite")
    assert replace(config, https=True).https


def test_lost_key_is_recovered_with_the_escrow_key(linked: object, tmp_path: Path) -> None:
    from tests.intake.conftest import submit

    from .conftest import csrf, log_in, services
    from .linked import Linked

    assert isinstance(linked, Linked)
    submit(linked.intake.test_client(), category="ethics", what="Recover me")
    linked.sync()
    escrow_file = tmp_path / "escrow.key"
    escrow_file.write_bytes(crypto.wrap_private_key(linked.escrow, "kof escrow",
                                                    crypto.INSECURE_FAST))
    eva = linked.staff["eva"]
    run(linked.casework, "keys", "rotate", "eva", "--password", eva.password)
    client = linked.casework.test_client()
    log_in(linked.casework, client, eva)
    with services(linked.casework).db.session() as db:
        from casework.models import Case

        case_id = db.scalars(__import__("sqlalchemy").select(Case)).one().id
    assert client.get(f"/cases/{case_id}").status_code == 403  # the new key reads nothing
    output = run(linked.casework, "keys", "recover", "eva", "--escrow-key", str(escrow_file),
                 "--passphrase", "kof escrow")
    assert "Added eva's current key to" in output
    client = linked.casework.test_client()
    log_in(linked.casework, client, eva)
    assert "Recover me" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    # The recovered list is tagged anew: a note after recovery is sealed, not refused.
    answer = client.post(f"/cases/{case_id}/notes",
                         data={"note-csrf_token": csrf(client, f"/cases/{case_id}"),
                               "note-text": "After recovery"})
    assert answer.status_code in (302, 303), answer.status_code
    assert "After recovery" in client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_units_are_configurable(casework: Flask) -> None:
    output = run(casework, "units", "add", "hr", "--sv", "Personalenheten", "--en", "HR unit",
                 "--alternate", "etik")
    assert "Unit hr added." in output
    assert "hr\tPersonalenheten\tHR unit" in run(casework, "units-list")
    again = casework.test_cli_runner().invoke(
        args=["units", "add", "hr", "--sv", "x", "--en", "y"])
    assert again.exit_code != 0 and "exists" in again.output


def test_acknowledgement_text_is_configurable(tmp_path: Path) -> None:
    import base64
    import json

    from casework import CaseworkConfig

    (tmp_path / "casework.json").write_text(json.dumps({
        "secret_key": base64.b64encode(b"x" * 32).decode(),
        "acknowledgement_sv": "Tack, vi har fått din rapport.",
        "acknowledgement_en": "Thanks, we got your report."}))
    config = CaseworkConfig.from_instance(tmp_path)
    assert config.acknowledgement_sv == "Tack, vi har fått din rapport."
    assert config.acknowledgement_en == "Thanks, we got your report."
