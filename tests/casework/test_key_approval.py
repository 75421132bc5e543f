"""A key made after an administrator's password reset waits for a second administrator.

The attack: an administrator resets a reviewer's password, signs in with the one-time
password, enrols (no previous password: a new key pair is made) and exports a directory.
Intake would then seal every new report of the unit to the administrator's key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

import crypto
from casework.models import Role
from common.directory import verify_directory

from .accounts_support import finish_enrolling, signed_in, start_enrolling, user
from .conftest import Staff, csrf, services


@pytest.fixture(autouse=True)
def akt_reviewer(enrol: Callable[..., Staff]) -> Staff:
    """Every unit that receives reports needs a reviewer before a directory exports."""
    return enrol("anna", Role.REVIEWER, "akt")


@pytest.fixture
def astrid(enrol: Callable[..., Staff]) -> Staff:
    """An administrator, who resets Eva's password."""
    return enrol("astrid", Role.ADMINISTRATOR, "kof")


@pytest.fixture
def eva(enrol: Callable[..., Staff]) -> Staff:
    """A reviewer of etik, with her key published."""
    return enrol("eva", Role.REVIEWER)


def reset_in_the_browser(app: Flask, admin: Staff, username: str) -> str:
    client = signed_in(app, admin)
    response = client.post(f"/admin/users/{username}/reset",
                           data={"csrf_token": csrf(client, "/admin/users")},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    return page.split("(shown once): ")[1].split("<")[0].strip()


def reenrol_after_reset(app: Flask, admin: Staff, username: str, new_password: str,
                        previous_password: str = "") -> None:
    """``admin`` resets the password in the browser; then whoever holds the one-time
    password enrols with ``new_password`` (and ``previous_password``, if they know it)."""
    temporary = reset_in_the_browser(app, admin, username)
    client, secret = start_enrolling(app, username, temporary)
    assert finish_enrolling(client, secret, new_password, previous_password) == 302


def published_reviewers(app: Flask, tmp_path: Path) -> list[str]:
    signing = crypto.SigningKey.generate()
    escrow = crypto.generate_escrow_key()
    from casework.directory import export_directory

    with services(app).db.session() as db:
        document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                    valid_for=dt.timedelta(days=1))
    directory = verify_directory(document, signing.verify_key)
    return [p.key_id for p in directory.units["etik"].reviewers]


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_key_enrolled_after_an_admin_reset_is_not_published_until_another_admin_approves(
    casework: Flask, enrol: Callable[..., Staff], astrid: Staff, eva: Staff, tmp_path: Path
) -> None:
    enrol("bertil", Role.ADMINISTRATOR, "kof")
    assert eva.key is not None
    # Astrid resets and enrols as Eva, without Eva's previous password: a new key pair.
    reenrol_after_reset(casework, astrid, "eva", "astrid knows this one")
    rogue = user(casework, "eva").public_key
    assert rogue is not None and rogue != eva.key.public_key.raw
    assert published_reviewers(casework, tmp_path) == [eva.key.public_key.key_id_hex]
    # The waiting key is visible to every administrator, not only in the database.
    admin_client = signed_in(casework, enrol("carl", Role.ADMINISTRATOR, "kof"))
    waiting = admin_client.get("/admin/directory").get_data(as_text=True)
    assert '<ul id="awaiting-approval"><li>eva</li></ul>' in waiting
    # The administrator who reset the password cannot approve it herself...
    status, output = run(casework, "keys", "approve", "eva", "--by", "astrid")
    assert status != 0 and "another administrator" in output
    assert published_reviewers(casework, tmp_path) == [eva.key.public_key.key_id_hex]
    # ...nor can a non-administrator; a second administrator can.
    status, output = run(casework, "keys", "approve", "eva", "--by", "eva")
    assert status != 0
    status, output = run(casework, "keys", "approve", "eva", "--by", "bertil")
    assert status == 0, output
    assert published_reviewers(casework, tmp_path) == [crypto.PublicKey(rogue).key_id_hex]
    approved = admin_client.get("/admin/directory").get_data(as_text=True)
    assert '<ul id="awaiting-approval"><li>None.</li></ul>' in approved


def test_keeping_the_key_with_the_previous_password_needs_no_approval(
    casework: Flask, astrid: Staff, eva: Staff, tmp_path: Path
) -> None:
    assert eva.key is not None
    reenrol_after_reset(casework, astrid, "eva", "eva's new passphrase", eva.password)
    assert user(casework, "eva").key_reset_by is None
    assert published_reviewers(casework, tmp_path) == [eva.key.public_key.key_id_hex]


def test_a_pending_key_is_not_given_old_cases_by_escrow_or_by_rotation(
    casework: Flask, astrid: Staff, eva: Staff, tmp_path: Path
) -> None:
    assert eva.key is not None
    reenrol_after_reset(casework, astrid, "eva", "astrid knows this one")
    escrow_file = tmp_path / "escrow.key"
    escrow_file.write_bytes(crypto.wrap_private_key(crypto.generate_escrow_key(), "kof escrow",
                                                    crypto.INSECURE_FAST))
    status, output = run(casework, "keys", "recover", "eva", "--escrow-key", str(escrow_file),
                         "--passphrase", "kof escrow")
    assert status != 0 and "awaits approval" in output
    # Rotating with the password the resetter chose does not skip the approval either.
    status, output = run(casework, "keys", "rotate", "eva", "--password",
                         "astrid knows this one")
    assert status == 0, output
    assert published_reviewers(casework, tmp_path) == [eva.key.public_key.key_id_hex]


def test_the_command_line_reset_records_who_did_it(casework: Flask,
                                                   enrol: Callable[..., Staff]) -> None:
    enrol("eva", Role.REVIEWER)
    status, output = run(casework, "users", "reset-password", "eva", "--by", "astrid")
    assert status == 0, output
    assert user(casework, "eva").key_reset_by == "astrid"
