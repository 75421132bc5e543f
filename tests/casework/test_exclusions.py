"""The tipster's exclusions (conflict of interest) hold on every path: the assignment
form, a direct post, the domain layer, the inbox, key recovery and later follow-ups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

import crypto
from casework.cases import assign
from casework.directory import export_directory
from casework.errors import InvalidInput
from casework.models import Case, CaseEnvelope, User
from intake.services import Intake, record_directory
from tests.intake.conftest import csrf_token, sign_in, submit

from .conftest import csrf, services
from .linked import Linked
from .test_cases import _case_id, _reviewer


def _key_id(linked: Linked, name: str) -> bytes:
    key = linked.staff[name].key
    assert key is not None
    return key.public_key.key_id


def _user_id(linked: Linked, name: str) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


def _corruption_report_excluding_anna(linked: Linked) -> str:
    """A report to the anti-corruption team that leaves its reviewer Anna out."""
    submit(linked.intake.test_client(), category="corruption", what="Kickbacks on roads",
           excluded=[_key_id(linked, "anna").hex()])
    linked.sync()
    return _case_id(linked)


def _domain_assignment_is_refused(linked: Linked, case_id: str, lead: str,
                                 person: str) -> None:
    """``lead`` assigns ``person`` with the domain function itself (no form, no view): it
    raises InvalidInput, and whatever it wrote before raising is committed to be checked."""
    app = linked.casework
    with app.app_context(), services(app).db.session() as db:
        acting = db.scalars(select(User).where(User.username == lead)).one()
        with pytest.raises(InvalidInput):
            assign(services(app), db, acting, linked.staff[lead].key, case_id,
                   _user_id(linked, person))


def _headers_hold(linked: Linked, case_id: str, key_id: bytes) -> bool:
    with services(linked.casework).db.session() as db:
        return any(key_id in crypto.header_key_ids(e.header)
                   for e in db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)))


def test_excluded_reviewer_is_never_offered_for_assignment(linked: Linked) -> None:
    case_id = _corruption_report_excluding_anna(linked)
    page = _reviewer(linked, "lena").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Kickbacks on roads" in page  # the lead reads it and may assign...
    assert 'name="person"' in page
    assert _user_id(linked, "anna") not in page and ">Anna<" not in page  # ...not to Anna


def test_excluded_reviewer_posted_directly_is_refused(linked: Linked) -> None:
    case_id = _corruption_report_excluding_anna(linked)
    lena = _reviewer(linked, "lena")
    lena.post(f"/cases/{case_id}/assign", data={"csrf_token": csrf(lena, f"/cases/{case_id}"),
                                                "person": _user_id(linked, "anna")})
    assert not _headers_hold(linked, case_id, _key_id(linked, "anna"))
    assert _reviewer(linked, "anna").get(f"/cases/{case_id}").status_code == 403


def test_excluded_reviewer_assigned_in_the_domain_layer_is_refused(linked: Linked) -> None:
    case_id = _corruption_report_excluding_anna(linked)
    _domain_assignment_is_refused(linked, case_id, "lena", "anna")
    assert not _headers_hold(linked, case_id, _key_id(linked, "anna"))


def test_excluded_reviewer_of_the_same_unit_does_not_see_the_case_in_the_inbox(
        linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics", agency="__other__",
           agency_other="Nämnden för hemliga saker",
           excluded=[_key_id(linked, "erik").hex()])
    linked.sync()
    with services(linked.casework).db.session() as db:
        reference = db.scalars(select(Case.reference)).one()
    erik = _reviewer(linked, "erik").get("/cases/").get_data(as_text=True)
    assert reference not in erik and "hemliga" not in erik
    eva = _reviewer(linked, "eva").get("/cases/").get_data(as_text=True)
    assert reference in eva and "hemliga" not in eva  # readers see the code's label only


def test_a_key_awaiting_approval_is_not_given_a_case(linked: Linked) -> None:
    """A key made after one administrator's password reset waits for a second one; an
    assignment must not open cases to it meanwhile (threat model 6.7)."""
    submit(linked.intake.test_client(), category="corruption")
    linked.sync()
    case_id = _case_id(linked)
    pending = crypto.PrivateKey.generate().public_key
    with services(linked.casework).db.session() as db:
        anna = db.scalars(select(User).where(User.username == "anna")).one()
        anna.public_key = pending.raw  # approved_public_key stays the published one
    lena = _reviewer(linked, "lena")
    assert _user_id(linked, "anna") not in lena.get(f"/cases/{case_id}").get_data(as_text=True)
    _domain_assignment_is_refused(linked, case_id, "lena", "anna")
    assert not _headers_hold(linked, case_id, pending.key_id)


def test_cli_key_recovery_does_not_give_an_excluded_reviewer_the_case(
        linked: Linked, tmp_path: Path, argon2_params: crypto.Argon2Params) -> None:
    case_id = _corruption_report_excluding_anna(linked)
    escrow_file = tmp_path / "escrow.key"
    escrow_file.write_bytes(crypto.wrap_private_key(linked.escrow, "escrow passphrase",
                                                    argon2_params))
    result = linked.casework.test_cli_runner().invoke(args=[
        "keys", "recover", "anna", "--escrow-key", str(escrow_file),
        "--passphrase", "escrow passphrase"])
    assert result.exit_code == 0, result.output
    assert not _headers_hold(linked, case_id, _key_id(linked, "anna"))


def test_follow_up_sealed_to_the_whole_unit_is_not_given_to_the_excluded_reviewer(
        linked: Linked) -> None:
    """Intake seals a follow-up to the whole unit when the report's readers have gone
    (intake/dialogue.py send_message); casework keeps only the report's readers."""
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics", excluded=[_key_id(linked, "erik").hex()])
    linked.sync()
    case_id = _case_id(linked)
    casework = services(linked.casework)
    with casework.db.session() as db:  # Eva, the only reader, leaves
        db.scalars(select(User).where(User.username == "eva")).one().active = False
        document = export_directory(db, signing_key=linked.signing,
                                    escrow=linked.escrow.public_key,
                                    valid_for=dt.timedelta(days=30))
    intake: Intake = linked.intake.extensions["lykta.intake"]
    intake.config.directory_path.write_bytes(document)
    with intake.unit() as unit:
        intake.directory = record_directory(unit.session, intake.config)
    sign_in(tipster, receipt)
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": "One more thing."},
                 content_type="multipart/form-data")
    linked.sync()
    with casework.db.session() as db:
        message = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "message",
            CaseEnvelope.origin == "intake")).one()
        header = message.header
    assert _key_id(linked, "erik") not in crypto.header_key_ids(header)
    assert linked.escrow.public_key.key_id in crypto.header_key_ids(header)


def test_imported_follow_up_sealed_to_an_excluded_reviewer_is_trimmed(
        linked: Linked, tmp_path: Path) -> None:
    """Whatever intake did (an old intake, a bug, a compromised one), casework stores a
    follow-up only with the entries of the report's readers."""
    import io

    from casework.bridge.imports import Incoming, import_envelopes

    erik, eva = linked.staff["erik"].key, linked.staff["eva"].key
    assert erik is not None and eva is not None
    submit(linked.intake.test_client(), category="ethics",
           excluded=[erik.public_key.key_id_hex])
    linked.sync()
    case_id = _case_id(linked)
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        receipt_id, tipster = case.intake_receipt_id, case.tipster_public_key
    body = tmp_path / "follow-up"
    with body.open("wb") as out:
        sealed = crypto.seal_stream(io.BytesIO(b'{"text": "More."}'), out,
                                    [eva.public_key, erik.public_key,
                                     linked.escrow.public_key], routing={"kind": "message"})
    envelope_id = sealed.envelope_id.hex()
    import_envelopes(services(linked.casework), [Incoming(
        envelope_id, receipt_id, "message", sealed.header, body, tipster, "etik")])
    with services(linked.casework).db.session() as db:
        stored = db.get(CaseEnvelope, envelope_id)
        assert stored is not None
        ids = crypto.header_key_ids(stored.header)
    assert erik.public_key.key_id not in ids
    assert eva.public_key.key_id in ids and linked.escrow.public_key.key_id in ids
