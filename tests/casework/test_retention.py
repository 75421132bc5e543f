"""Retention through the web and the bridge: a legal hold placed and lifted by the unit
lead (its reason sealed, shown escaped to readers), the purge of a real case (everything
sealed gone, the statistics rows, readers and audit log kept, the dialogue's removal
queued for intake, later follow-ups refused), the purged case's page, the retention pages,
wrong roles and hostile input."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from casework.models import (
    Assignment,
    AuditEntry,
    Case,
    CaseEnvelope,
    IntakeCommand,
    LegalHold,
    StageChange,
    Unit,
)
from casework.retention import OnHold, purge_case
from casework.workflow import change_stage

from .conflict_support import add_etik_lead, client, readers, reported_case, stored_files
from .conftest import Staff, csrf, services
from .linked import Linked
from .workflow_support import act

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'
ZERO = "0" * 32


@pytest.fixture
def lead(linked: Linked, enrol: Callable[..., Staff]) -> Linked:
    add_etik_lead(linked, enrol)
    return linked


def conclude_long_ago(linked: Linked, case_id: str, days: int = 800) -> None:
    """Lars concludes the case through the workflow; then its date is moved back."""
    act(linked, "lars", change_stage, case_id, "concluded", "withdrawn", "", "dismissed")
    with services(linked.casework).db.session() as db:
        db.execute(update(Case).where(Case.id == case_id).values(
            concluded_on=dt.date.today() - dt.timedelta(days=days)))


def holds(linked: Linked, case_id: str) -> list[LegalHold]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(LegalHold).where(LegalHold.case_id == case_id)
                               .order_by(LegalHold.placed_at)))


def place(linked: Linked, name: str, case_id: str, code: str = "legal-proceedings",
          reason: str = "") -> int:
    signed = client(linked, name)
    return signed.post(f"/cases/{case_id}/hold", data={
        "hold-csrf_token": csrf(signed, "/"), "hold-reason_code": code,
        "hold-reason": reason}).status_code


def lift(linked: Linked, name: str, hold_id: str) -> int:
    signed = client(linked, name)
    return signed.post(f"/holds/{hold_id}/lift",
                       data={"lift-csrf_token": csrf(signed, "/")}).status_code


def count(linked: Linked, model: type, case_id: str) -> int:
    with services(linked.casework).db.session() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(
            model.case_id == case_id)) or 0)  # type: ignore[attr-defined]


def test_hold_lift_purge_and_the_purged_case_page(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    conclude_long_ago(linked, case.case_id)
    assert place(linked, "lars", case.case_id, reason=f"{XSS} HOLD-MARKER court case") == 302
    [held] = holds(linked, case.case_id)
    assert held.reason_envelope_id is not None and held.lifted_at is None
    page = client(linked, "eva").get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert 'id="retention"' in page and "HOLD-MARKER court case" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "a legal hold pauses the purge" in page and 'id="hold-form"' not in page
    assert "A legal hold paused the purge (reason: legal proceedings)" in page  # timeline
    assert 'id="hold-form"' in client(linked, "lars").get(
        f"/cases/{case.case_id}").get_data(as_text=True)
    casework = services(linked.casework)
    with pytest.raises(OnHold), linked.casework.app_context(), casework.unit() as work:
        purge_case(casework, work.session, work.session.get(Case, case.case_id))
    assert lift(linked, "lars", held.id) == 302
    assert lift(linked, "lars", held.id) == 409  # once
    before_files = stored_files(linked)
    with casework.db.session() as db:
        names = {e.body_name for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id))}
    assert names <= before_files
    stages = count(linked, StageChange, case.case_id)
    audit = count(linked, AuditEntry, case.case_id)
    result = linked.casework.test_cli_runner().invoke(args=["retention", "purge", "--yes"])
    assert result.exit_code == 0 and "Purged 1 cases" in result.output, result.output

    assert count(linked, CaseEnvelope, case.case_id) == 0
    assert not names & stored_files(linked)
    assert count(linked, StageChange, case.case_id) == stages >= 1
    assert count(linked, LegalHold, case.case_id) == 1
    assert count(linked, AuditEntry, case.case_id) == audit + 1  # case_purged
    assert count(linked, Assignment, case.case_id) == 0
    assert readers(linked, case.case_id) == {"eva", "erik", "lars"}
    with casework.db.session() as db:
        commands = list(db.scalars(select(IntakeCommand.kind).where(
            IntakeCommand.case_id == case.case_id)))
        assert commands == ["forget-dialogue"]
    verify = linked.casework.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and "Audit log intact" in verify.output

    shown = client(linked, "eva").get(f"/cases/{case.case_id}")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'id="purged"' in text
    assert f"purged on {dt.date.today().isoformat()}" in text
    assert "content was purged (encrypted items removed: 9)" in text
    assert "hired her nephew" not in text and "HOLD-MARKER" not in text
    assert client(linked, "anna").get(f"/cases/{case.case_id}").status_code == 403
    assert place(linked, "lars", case.case_id) == 409  # nothing is left to hold

    # The tipster writes again before intake forgets: casework stores nothing of it.
    tipster = case.tipster
    from tests.intake.conftest import csrf_token
    tipster.post("/dialogue/message", data={
        "csrf_token": csrf_token(tipster, "/dialogue"), "text": "AFTER-PURGE words"},
        content_type="multipart/form-data")
    linked.sync()
    assert count(linked, CaseEnvelope, case.case_id) == 0


def test_only_a_lead_of_the_cases_unit_holds_and_lifts(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    for name in ("eva", "anna", "lena", "cecilia", "admin", "stina"):
        assert place(linked, name, case.case_id) == 403, name
    assert holds(linked, case.case_id) == []
    assert place(linked, "lars", case.case_id, "archiving-decision") == 302
    [held] = holds(linked, case.case_id)
    for name in ("eva", "lena", "admin"):
        assert lift(linked, name, held.id) == 403, name
    assert lift(linked, "lars", ZERO) == 403  # forged id: as for another unit's hold
    assert holds(linked, case.case_id)[0].lifted_at is None


def test_hostile_hold_input_changes_nothing(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    lars = client(linked, "lars")
    path = f"/cases/{case.case_id}/hold"
    token = csrf(lars, "/")
    answers = [
        lars.post(path, data={"hold-reason_code": "legal-proceedings"}),  # no CSRF token
        lars.post(path, data={"hold-csrf_token": token, "hold-reason_code": "<b>nope"}),
        lars.post(path, data={"hold-csrf_token": token, "hold-reason_code": ""}),
        lars.post(path, data={"hold-csrf_token": token, "hold-reason_code": "other",
                              "hold-reason": "x" * 4001}),  # over the limit
        lars.post(path, json={"hold-csrf_token": token, "hold-reason_code": "other"}),
        lars.post(path, data={"hold-csrf_token": token, "hold-reason_code": "other",
                              "hold-reason": (io.BytesIO(b"a file"), "r.txt")},
                  content_type="multipart/form-data"),  # a field sent as a file
        lars.post(f"/cases/{ZERO}/hold", data={"hold-csrf_token": token,
                                               "hold-reason_code": "other"}),  # forged id
        lars.post("/holds/..%2F..%2Fetc/lift", data={"lift-csrf_token": token}),
        lars.post(f"/holds/{ZERO}/lift", data={}),  # no CSRF token
    ]
    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert holds(linked, case.case_id) == []
    raw = f"hold-csrf_token={token}&hold-reason_code=other&hold-reason=%ff%fe"
    answer = lars.post(path, data=raw.encode(),
                       content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 302 and len(holds(linked, case.case_id)) == 1


def test_the_retention_pages_and_a_units_period(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    conclude_long_ago(linked, case.case_id, days=40)
    with services(linked.casework).db.session() as db:
        reference = db.get(Case, case.case_id).reference  # type: ignore[union-attr]
    admin = client(linked, "admin")
    page = admin.get("/retention/").get_data(as_text=True)
    assert 'id="retention-link"' in admin.get("/").get_data(as_text=True)
    assert 'id="none-due"' in page and 'id="period-etik"' in page  # 730 days: not due
    token = csrf(admin, "/")
    for bad in ("0", "731", "abc", "-5", "9" * 40):
        answer = admin.post("/retention/units/etik",
                            data={"unit-etik-csrf_token": token, "unit-etik-days": bad})
        assert answer.status_code == 400, bad
    assert admin.post("/retention/units/nope", data={
        "unit-nope-csrf_token": token, "unit-nope-days": "30"}).status_code == 400
    assert admin.post("/retention/units/etik", data={"unit-etik-days": "30"}).status_code == 400
    assert client(linked, "lars").post("/retention/units/etik", data={
        "unit-etik-csrf_token": csrf(client(linked, "lars"), "/"),
        "unit-etik-days": "30"}).status_code == 403
    with services(linked.casework).db.session() as db:
        assert db.get(Unit, "etik").retention_days is None  # type: ignore[union-attr]
    assert admin.post("/retention/units/etik", data={
        "unit-etik-csrf_token": token, "unit-etik-days": "30"}).status_code == 302
    with services(linked.casework).db.session() as db:
        assert db.get(Unit, "etik").retention_days == 30  # type: ignore[union-attr]
        assert db.scalar(select(AuditEntry.details).where(
            AuditEntry.action == "retention_changed")) is not None
    page = admin.get("/retention/").get_data(as_text=True)
    assert 'id="due"' in page and reference in page and "hired her nephew" not in page
    assert reference in client(linked, "lars").get("/retention/").get_data(as_text=True)
    assert reference not in client(linked, "lena").get("/retention/").get_data(as_text=True)
    assert client(linked, "eva").get("/retention/").status_code == 403
    assert admin.post("/retention/units/etik", data={
        "unit-etik-csrf_token": token, "unit-etik-days": ""}).status_code == 302
    with services(linked.casework).db.session() as db:
        assert db.get(Unit, "etik").retention_days is None  # type: ignore[union-attr]
