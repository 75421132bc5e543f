"""Oral reports (Art. 9(2), 18): a reader records one, the reporter gets a receipt shown
once, signs in at intake, approves the minutes or corrects them, and casework records the
answer; every refusal changes nothing, and the receipt code is kept nowhere."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from casework.bridge.pushes import pending_pushes
from casework.errors import InvalidInput, NotPermitted
from casework.models import (
    AuditEntry,
    Case,
    CaseEnvelope,
    IntakeCommand,
    MinutesStatus,
    OralReport,
    User,
)
from casework.oral import record_oral_report, send_minutes
from common.contract import Audience, EnvelopeKind
from intake.models import ReceiptRecord, StoredEnvelope
from intake.sealing import readers_with_escrow, seal_json
from intake.services import Intake
from tests.intake.conftest import csrf_token, sign_in, submit

from .conftest import EnglishClient, services
from .handling_support import client, token
from .linked import Linked

SALT = b"t" * 16  # intake's instance salt in tests/support/casework.link_intake
RECEIPT = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')
XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def oral(linked: Linked, make_casework: Callable[..., Flask],
         argon2_params: crypto.Argon2Params) -> Linked:
    """``linked``, its casework configured with intake's receipt salt (same database)."""
    linked.casework = make_casework(escrow_public_key=linked.escrow.public_key.raw,
                                    intake_receipt_salt=SALT,
                                    intake_receipt_argon2=argon2_params)
    # The reporter's pages in English, as these tests read them (intake is Swedish by
    # default; tests/intake/test_i18n.py covers that).
    linked.intake.test_client_class = EnglishClient
    return linked


def _intake(linked: Linked) -> Intake:
    intake: Intake = linked.intake.extensions["lykta.intake"]
    return intake


def _form(staff: FlaskClient, **changes: str) -> dict[str, str]:
    return {"csrf_token": token(staff), "unit": "etik", "channel": "phone",
            "held_on": TODAY.isoformat(), "category": "ethics", "agency": "skatteverket",
            "summary": "The head of unit hired her nephew without advertising the post.",
            **changes}


def _record(linked: Linked, name: str = "eva", **changes: str) -> tuple[str, str]:
    """Record through the web form; (case id, receipt code)."""
    staff = client(linked, name)
    answer = staff.post("/oral/new", data=_form(staff, **changes))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page[:2000]
    assert "no-store" in answer.headers["Cache-Control"]
    match = RECEIPT.search(page)
    assert match
    with services(linked.casework).db.session() as db:
        case_id = db.scalars(select(Case.id).order_by(Case.created_at.desc())).first()
    assert case_id is not None
    return case_id, match.group(1)


def _minutes(linked: Linked, case_id: str, text: str, name: str = "eva") -> int:
    staff = client(linked, name)
    return staff.post(f"/cases/{case_id}/minutes", data={
        "csrf_token": token(staff), "minutes-held_on": TODAY.isoformat(),
        "minutes-text": text}).status_code


def _newest_minutes_id(tipster: FlaskClient) -> str:
    page = tipster.get("/dialogue").get_data(as_text=True)
    match = re.search(r'name="approve-minutes" value="([0-9a-f]{32})"', page)
    assert match, page[:3000]
    return match.group(1)


def _answer(tipster: FlaskClient, minutes_id: str, corrections: str | None = None) -> int:
    if corrections is None:
        return tipster.post("/dialogue/minutes/approve", data={
            "csrf_token": csrf_token(tipster, "/dialogue"),
            "approve-minutes": minutes_id}).status_code
    return tipster.post("/dialogue/minutes/correct", data={
        "csrf_token": csrf_token(tipster, "/dialogue"), "correct-minutes": minutes_id,
        "correct-corrections": corrections}).status_code


def _row(linked: Linked, case_id: str) -> OralReport:
    with services(linked.casework).db.session() as db:
        row = db.get(OralReport, case_id)
        assert row is not None
        db.expunge(row)
        return row


def _actions(linked: Linked, case_id: str) -> list[str]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id)
                               .order_by(AuditEntry.seq)))


def _everything_stored(linked: Linked, root: Path) -> bytes:
    """Every byte both apps keep: databases (with -wal), stores, instance files."""
    del linked
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_an_oral_report_is_recorded_approved_by_its_reporter_and_the_code_kept_nowhere(
        oral: Linked, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    linked = oral
    caplog.set_level(logging.DEBUG)
    case_id, receipt = _record(linked)
    # The case: filed, sealed to the unit's readers and escrow, the tag set, a receipt
    # registration waiting for the bridge and the acknowledgement held until it is sent.
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and case.unit_id == "etik" and case.category == "ethics"
        assert case.agency == "skatteverket" and case.received_on == TODAY
        assert case.readers_tag is not None
        [report] = [e for e in case.envelopes if e.kind == EnvelopeKind.REPORT]
        ids = set(crypto.header_key_ids(report.header))
        for name in ("eva", "erik"):
            key = linked.staff[name].key
            assert key is not None and key.public_key.key_id in ids
        assert linked.escrow.public_key.key_id in ids
        anna = linked.staff["anna"].key
        assert anna is not None and anna.public_key.key_id not in ids
        [command] = db.scalars(select(IntakeCommand).where(IntakeCommand.case_id == case_id))
        assert command.delivered_at is None and receipt not in command.payload
    assert pending_pushes(services(linked.casework)) == []  # waits for the registration
    linked.sync()
    with _intake(linked).db.session() as db:
        assert db.scalar(select(ReceiptRecord).where(
            ReceiptRecord.id == case.intake_receipt_id)) is not None
    # The reporter signs in with the code like anyone else and reads the acknowledgement.
    tipster = linked.intake.test_client()
    sign_in(tipster, receipt)
    assert "Thank you for your report" in tipster.get("/dialogue").get_data(as_text=True)
    # Minutes (markup stripped) go to the dialogue; the reporter approves them.
    assert _minutes(linked, case_id, f"You told us about the hiring. {XSS}") == 302
    assert _row(linked, case_id).minutes_status == MinutesStatus.AWAITING
    linked.sync()
    page = tipster.get("/dialogue").get_data(as_text=True)
    assert "You told us about the hiring." in page and "<script>" not in page
    assert "onerror" not in page and "I approve these minutes" in page
    minutes_id = _newest_minutes_id(tipster)
    assert _answer(tipster, minutes_id) == 302
    page = tipster.get("/dialogue").get_data(as_text=True)
    assert "You approved these minutes." in page and 'name="approve-minutes"' not in page
    assert _answer(tipster, minutes_id) == 409  # answered already: nothing sent
    assert _answer(tipster, minutes_id, "Change it") == 409
    linked.sync()
    row = _row(linked, case_id)
    assert row.minutes_status == MinutesStatus.APPROVED and row.answered_at is not None
    assert row.minutes_envelope_id == minutes_id
    with services(linked.casework).db.session() as db:
        kinds = [e.kind for e in db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.origin == "intake"))]
    assert kinds == [EnvelopeKind.MINUTES_APPROVED]  # exactly one answer crossed
    actions = _actions(linked, case_id)
    for action in ("case_opened", "oral_report_recorded", "minutes_sent", "minutes_answered"):
        assert action in actions, actions
    case_page = client(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Approved by the reporter" in case_page
    assert "Oral report recorded (by phone)" in case_page
    assert "The reporter approved the minutes" in case_page
    # The code: in no log, database, store or instance file of either app, in any form.
    forms = {receipt, receipt.replace("-", ""), crypto.normalize_receipt(receipt)}
    stored = _everything_stored(linked, tmp_path)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for form in forms:
        assert form.encode() not in stored and form not in logged
    with services(linked.casework).db.session() as db:
        details = " ".join(db.scalars(select(AuditEntry.details)))
    assert all(form not in details for form in forms)


def test_corrections_are_recorded_new_minutes_wait_again_and_old_ones_cannot_be_answered(
        oral: Linked) -> None:
    linked = oral
    case_id, receipt = _record(linked, channel="meeting")
    linked.sync()
    tipster = linked.intake.test_client()
    sign_in(tipster, receipt)
    assert _minutes(linked, case_id, "First minutes.") == 302
    linked.sync()
    first = _newest_minutes_id(tipster)
    assert _answer(tipster, first, "") == 400  # corrections need words
    assert "Write your corrections." in tipster.post("/dialogue/minutes/correct", data={
        "csrf_token": csrf_token(tipster, "/dialogue"), "correct-minutes": first,
        "correct-corrections": ""}).get_data(as_text=True)
    assert _answer(tipster, first, "x" * 20_001) == 400  # oversized
    assert _answer(tipster, first, f"It was in May, not June. {XSS}") == 302
    linked.sync()
    assert _row(linked, case_id).minutes_status == MinutesStatus.CORRECTED
    page = client(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "The reporter sent corrections" in page and "It was in May, not June." in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page
    # New minutes: waiting again; the first ones can no longer be answered.
    assert _minutes(linked, case_id, "Second minutes: in May.") == 302
    assert _row(linked, case_id).minutes_status == MinutesStatus.AWAITING
    second = _row(linked, case_id).minutes_envelope_id
    assert second is not None and second != first
    assert _minutes(linked, case_id, "Third minutes: in May, at the office.") == 302
    linked.sync()
    third = _newest_minutes_id(tipster)
    page = tipster.get("/dialogue").get_data(as_text=True)
    assert page.count('name="approve-minutes"') == 1 and "answer the newest" in page
    assert _answer(tipster, second) == 409  # superseded
    assert _answer(tipster, "f" * 32) == 404  # no such minutes
    assert _answer(tipster, "not-an-id") == 400
    assert _answer(tipster, third) == 302
    linked.sync()
    assert _row(linked, case_id).minutes_status == MinutesStatus.APPROVED


def test_refusals_change_nothing(oral: Linked) -> None:
    linked = oral
    eva = client(linked, "eva")
    with services(linked.casework).db.session() as db:
        before = set(db.scalars(select(Case.id)))

    def post(data: dict[str, str], who: FlaskClient = eva) -> int:
        return who.post("/oral/new", data=data).status_code

    assert post(_form(eva, unit="akt")) == 400  # not a unit offered to her
    assert post(_form(eva, unit="nowhere")) == 400
    assert post(_form(eva, channel="fax")) == 400
    assert post(_form(eva, category="gossip")) == 400
    assert post(_form(eva, agency="<b>x</b>")) == 400
    assert post(_form(eva, held_on=(TODAY + dt.timedelta(days=1)).isoformat())) == 400
    assert post(_form(eva, held_on="yesterday")) == 400
    assert post(_form(eva, summary="x" * 20_001)) == 400
    assert post(_form(eva, summary="<b></b>")) == 400  # nothing left once markup goes
    assert post({k: v for k, v in _form(eva).items() if k != "csrf_token"}) == 400
    assert eva.post("/oral/new", json=_form(eva)).status_code == 415
    for name in ("stina", "admin", "cecilia"):
        staff = client(linked, name)
        assert staff.get("/oral/new").status_code == 403
        assert post(_form(staff), staff) == 403
    with services(linked.casework).db.session() as db:
        assert set(db.scalars(select(Case.id))) == before
        assert db.scalar(select(IntakeCommand.id)) is None
    # Minutes: only for an oral report, by one of its readers, with a valid form.
    case_id, _receipt = _record(linked)
    written = linked.intake.test_client()
    submit(written, category="ethics", what="A written report.")
    linked.sync()
    with services(linked.casework).db.session() as db:
        other = db.scalars(select(Case.id).where(Case.id.not_in([case_id, *before]))).one()
    assert _minutes(linked, other, "Minutes of nothing.") == 409
    assert _minutes(linked, case_id, "Minutes.", name="anna") == 403
    assert _minutes(linked, case_id, "") == 400
    assert _minutes(linked, case_id, "x" * 20_001) == 400
    assert eva.post(f"/cases/{case_id}/minutes", data={
        "minutes-held_on": TODAY.isoformat(), "minutes-text": "no token"}).status_code == 400
    assert eva.post(f"/cases/{case_id}/minutes", json={"minutes-text": "x"}).status_code == 415
    assert _row(linked, case_id).minutes_envelope_id is None
    # XSS in the written-down report: shown escaped (markup stripped) on the case page.
    xss_case, _ = _record(linked, summary=f"Said: {XSS} end")
    page = eva.get(f"/cases/{xss_case}").get_data(as_text=True)
    assert "Said:" in page and "<script>alert" not in page and "<img src=x" not in page


def test_without_intakes_salt_oral_reports_are_off_and_say_how_to_turn_them_on(
        linked: Linked) -> None:
    eva = client(linked, "eva")
    page = eva.get("/oral/new").get_data(as_text=True)
    assert "intake_receipt_salt" in page and 'id="oral-form"' not in page
    answer = eva.post("/oral/new", data=_form(eva))
    assert answer.status_code == 409
    assert "intake_receipt_salt" in answer.get_data(as_text=True)
    with services(linked.casework).db.session() as db:
        assert db.scalar(select(Case.id)) is None and db.scalar(select(IntakeCommand.id)) is None


def _forge_answer(linked: Linked, receipt_id: str, kind: EnvelopeKind,
                  minutes_id: str = "a" * 32) -> str:
    """What a compromised intake can do: seal an answer of its own for a receipt."""
    intake = _intake(linked)
    with intake.db.session() as db:
        record = db.get(ReceiptRecord, receipt_id)
        assert record is not None
        readers = [p.public_key for p in intake.directory.units["etik"].reviewers]
        return seal_json(db, intake.store, receipt_id=receipt_id, audience=Audience.CASEWORK,
                         kind=kind, recipients=readers_with_escrow(readers,
                                                                   intake.directory.escrow),
                         routing={"minutes": minutes_id},
                         payload={"type": "minutes-answer", "approved": True})


def test_a_forged_answer_for_a_case_without_an_oral_report_is_refused(oral: Linked) -> None:
    linked = oral
    submit(linked.intake.test_client(), category="ethics", what="A written report.")
    linked.sync()
    with services(linked.casework).db.session() as db:
        written = db.scalars(select(Case)).one()
        db.expunge(written)
    forged = _forge_answer(linked, written.intake_receipt_id, EnvelopeKind.MINUTES_APPROVED)
    # An oral report whose minutes were never sent: an answer to them is forged too.
    case_id, _receipt = _record(linked)
    linked.sync()  # registers the receipt at intake
    with services(linked.casework).db.session() as db:
        oral_case = db.get(Case, case_id)
        assert oral_case is not None
        receipt_id = oral_case.intake_receipt_id
    early = _forge_answer(linked, receipt_id, EnvelopeKind.MINUTES_CORRECTED)
    linked.sync()
    with services(linked.casework).db.session() as db:
        assert db.get(CaseEnvelope, forged) is None and db.get(CaseEnvelope, early) is None
        assert db.get(OralReport, written.id) is None
    assert _row(linked, case_id).minutes_status == MinutesStatus.AWAITING
    assert _row(linked, case_id).answered_at is None
    with _intake(linked).db.session() as db:  # refused, so acknowledged: gone at intake
        assert db.get(StoredEnvelope, forged) is None and db.get(StoredEnvelope, early) is None


def test_an_answer_naming_earlier_minutes_is_kept_but_changes_no_status(oral: Linked) -> None:
    linked = oral
    case_id, _receipt = _record(linked)
    assert _minutes(linked, case_id, "Minutes.") == 302
    linked.sync()
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        receipt_id = case.intake_receipt_id
    stale = _forge_answer(linked, receipt_id, EnvelopeKind.MINUTES_APPROVED, "b" * 32)
    linked.sync()
    with services(linked.casework).db.session() as db:
        assert db.get(CaseEnvelope, stale) is not None
    assert _row(linked, case_id).minutes_status == MinutesStatus.AWAITING
    assert "minutes_answered" not in _actions(linked, case_id)


def test_a_reader_whose_key_awaits_approval_cannot_record(oral: Linked) -> None:
    linked = oral
    app = linked.casework
    with app.app_context(), services(app).unit() as work:
        erik = work.session.scalars(select(User).where(User.username == "erik")).one()
        erik.approved_public_key = None  # as after a reset, before `keys approve`
    key = linked.staff["erik"].key
    with app.app_context(), services(app).unit() as work:
        erik = work.session.scalars(select(User).where(User.username == "erik")).one()
        with pytest.raises(InvalidInput):
            record_oral_report(services(app), work.session, erik, key,
                               "etik", "phone", TODAY, "ethics", "", "A report.")
        # A unit where eva does not read, whatever the form offered: refused.
        eva = work.session.scalars(select(User).where(User.username == "eva")).one()
        with pytest.raises(NotPermitted):
            record_oral_report(services(app), work.session, eva, linked.staff["eva"].key,
                               "akt", "phone", TODAY, "ethics", "", "A report.")
        # Nor is the unpublished key a recipient of anyone else's oral report.
        recorded = record_oral_report(services(app), work.session, eva,
                                      linked.staff["eva"].key, "etik", "meeting", TODAY,
                                      "ethics", "", "Report.")
        work.session.flush()
        case = work.session.get(Case, recorded.case_id)
        assert case is not None and key is not None
        report = next(e for e in case.envelopes if e.kind == EnvelopeKind.REPORT)
        assert key.public_key.key_id not in crypto.header_key_ids(report.header)
        assert "receipt=" not in repr(recorded) and recorded.receipt not in repr(recorded)
        send_minutes(services(app), work.session, eva, linked.staff["eva"].key,
                     recorded.case_id, "Minutes <b>bold</b>", TODAY)


def test_two_answers_racing_past_the_dialogue_check_collide_in_the_database(
        oral: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    """A double submit whose second request read the dialogue before the first committed:
    the database refuses the second answer, and nothing more is stored."""
    import intake.dialogue as dialogue

    linked = oral
    case_id, receipt = _record(linked)
    assert _minutes(linked, case_id, "Minutes.") == 302
    linked.sync()
    tipster = linked.intake.test_client()
    sign_in(tipster, receipt)
    minutes_id = _newest_minutes_id(tipster)
    assert _answer(tipster, minutes_id) == 302
    with _intake(linked).db.session() as db:
        stored = set(db.scalars(select(StoredEnvelope.id)))
    # As if the first answer had not committed when the second read the dialogue.
    unmarked = dialogue._mark_minutes
    monkeypatch.setattr(dialogue, "_mark_minutes", lambda items: [
        unmarked(items), *(i.update(answer=None) for i in items if i.get("type") == "minutes")])
    assert _answer(tipster, minutes_id, "A second answer.") == 409
    with _intake(linked).db.session() as db:
        assert set(db.scalars(select(StoredEnvelope.id))) == stored
    linked.sync()
    assert _row(linked, case_id).minutes_status == MinutesStatus.APPROVED
