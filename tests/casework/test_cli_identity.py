"""``flask --app casework identity escrow-open``: escrow recovery of an identity, audited.

The identity goes to standard output only after the audit record has committed; any
refusal (wrong passphrase, another escrow key, unknown or anonymous case, tampered body)
records nothing and shows nothing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select

import crypto
from casework.cli_identity import printable
from casework.models import AuditEntry, Case, CaseEnvelope

from .conftest import services
from .handling_support import report
from .linked import Linked

PASSPHRASE = "kof escrow"
NAME, CONTACT = "Karin Berg", "karin@example.org"
ACTION = "identity_recovered_from_escrow"


def wrapped(key: crypto.PrivateKey, folder: Path) -> Path:
    path = folder / "escrow.key"
    path.write_bytes(crypto.wrap_private_key(key, PASSPHRASE, crypto.INSECURE_FAST))
    return path


def escrow_open(linked: Linked, reference: str, key_file: Path,
                passphrase: str = PASSPHRASE, *extra: str) -> Result:
    return linked.casework.test_cli_runner().invoke(
        args=["identity", "escrow-open", reference, "--escrow-key", str(key_file), *extra],
        input=f"{passphrase}\n")


def reference_of(linked: Linked, case_id: str) -> str:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case.reference


def recoveries(linked: Linked) -> list[AuditEntry]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)))


def test_escrow_opens_the_identity_prints_it_once_and_audits_it(
        linked: Linked, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    key_file = wrapped(linked.escrow, tmp_path)
    caplog.set_level(logging.DEBUG)
    # Lower case and spaces around the reference are forgiven (it is read off paper).
    result = escrow_open(linked, f"  {reference_of(linked, case_id).lower()} ", key_file)
    assert result.exit_code == 0, result.output
    assert f"Name: {NAME}" in result.stdout and f"Contact: {CONTACT}" in result.stdout
    assert PASSPHRASE not in result.output  # the prompt hides what was typed
    [entry] = recoveries(linked)
    assert entry.case_id == case_id and entry.actor_id is None
    assert NAME not in entry.details and CONTACT not in entry.details
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert NAME not in logged and CONTACT not in logged
    # Every opening is recorded: a second one is a second entry.
    assert escrow_open(linked, reference_of(linked, case_id), key_file).exit_code == 0
    assert len(recoveries(linked)) == 2


def test_refusals_show_nothing_and_record_nothing(linked: Linked, tmp_path: Path) -> None:
    confidential = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    anonymous = report(linked, what="No name given")
    key_file = wrapped(linked.escrow, tmp_path)
    other_folder = tmp_path / "other"
    other_folder.mkdir()
    other_escrow = wrapped(crypto.generate_escrow_key(), other_folder)
    reference = reference_of(linked, confidential)
    cases = {
        "wrong passphrase": escrow_open(linked, reference, key_file, "not it"),
        "another escrow key": escrow_open(linked, reference, other_escrow),
        "unknown reference": escrow_open(linked, "LY-ZZZZZZZZ", key_file),
        "anonymous": escrow_open(linked, reference_of(linked, anonymous), key_file),
        "passphrase as an option": escrow_open(linked, reference, key_file, PASSPHRASE,
                                               "--passphrase", PASSPHRASE),
    }
    for why, result in cases.items():
        assert result.exit_code != 0, why
        assert NAME not in result.output and CONTACT not in result.output, why
    assert "passphrase" in cases["wrong passphrase"].output
    assert "not sealed to this escrow key" in cases["another escrow key"].output
    assert "no case has that reference" in cases["unknown reference"].output
    assert "holds no identity" in cases["anonymous"].output
    assert recoveries(linked) == []


def test_a_tampered_identity_is_refused(linked: Linked, tmp_path: Path) -> None:
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    casework = services(linked.casework)
    with casework.db.session() as db:
        envelope = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "identity")).one()
        path = casework.store.root / envelope.body_name
    body = bytearray(path.read_bytes())
    body[-30] ^= 0x01
    path.write_bytes(bytes(body))
    result = escrow_open(linked, reference_of(linked, case_id), wrapped(linked.escrow,
                                                                        tmp_path))
    assert result.exit_code != 0 and "tampered" in result.output
    assert recoveries(linked) == []


def test_a_missing_body_is_refused(linked: Linked, tmp_path: Path) -> None:
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    casework = services(linked.casework)
    with casework.db.session() as db:
        envelope = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "identity")).one()
        (casework.store.root / envelope.body_name).unlink()
    result = escrow_open(linked, reference_of(linked, case_id), wrapped(linked.escrow,
                                                                        tmp_path))
    assert result.exit_code != 0 and "missing" in result.output
    assert recoveries(linked) == []


@pytest.mark.parametrize("typed", ["\x1b]0;owned\x07Karin", "Karin\x1b[2J", "Ka\u202erin",
                                   "Karin\r\nContact: forged"])
def test_what_the_tipster_typed_cannot_drive_the_terminal(typed: str) -> None:
    shown = printable(typed)
    assert not any(ch in shown for ch in "\x1b\x07\r\n\u202e")
    assert "Karin" in shown or "Ka" in shown


def test_the_json_printed_is_exactly_what_was_sealed(linked: Linked, tmp_path: Path) -> None:
    """Non-ASCII names come through unchanged (only control characters are replaced)."""
    case_id = report(linked, identity="confidential", name="Åsa Öberg-Ünal",
                     contact="+46 70 123 45 67")
    result = escrow_open(linked, reference_of(linked, case_id), wrapped(linked.escrow,
                                                                        tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["Name: Åsa Öberg-Ünal",
                                              "Contact: +46 70 123 45 67"]
    assert json.loads(recoveries(linked)[0].details) == {}
