"""The legal deadlines: what is due for a reminder (to the day), the extension of the
feedback deadline to six months (a lead's, once, with a sealed reason; every refusal
changes nothing), the case page's section, the inbox's overdue filter with extended
cases, and the staff e-mail addresses reminders go to."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from casework.accounts import create_user
from casework.deadlines import due_reminders, extend_feedback_deadline
from casework.errors import CaseworkError
from casework.inbox import inbox
from casework.models import (
    AuditEntry,
    Case,
    CaseEnvelope,
    FeedbackExtension,
    ReminderKind,
    Role,
    Stage,
    User,
)
from tests.support.casework import Staff

from .conftest import csrf, log_in, services
from .deadlines_support import TODAY, Built, build, days_ago
from .handling_support import ZERO, call, client, report, token
from .linked import Linked

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


# --- what is due, to the day --------------------------------------------------------------


def _due(app: Flask, day: dt.date = TODAY) -> set[tuple[str, ReminderKind]]:
    with services(app).db.session() as db:
        return {(d.case_id, d.kind) for d in due_reminders(
            db, day, acknowledge_days=2, feedback_days=14)}


def test_reminders_are_due_from_n_days_before_the_deadline_and_after_it(
        casework: Flask) -> None:
    cases = build(
        casework,
        Built("etik", days_ago(4)),  # acknowledgement in 3 days: not yet
        Built("etik", days_ago(5)),  # in 2 days: soon
        Built("etik", days_ago(7)),  # today: soon (not overdue on the day itself)
        Built("etik", days_ago(8)),  # yesterday: overdue
        Built("etik", days_ago(75), Stage.ASSESSED.value, acknowledged=True),  # in 15 days
        Built("etik", days_ago(76), Stage.ASSESSED.value, acknowledged=True),  # in 14 days
        Built("etik", days_ago(91), Stage.ASSESSED.value, acknowledged=True),  # overdue
        Built("etik", days_ago(91), Stage.ASSESSED.value, acknowledged=True,
              extended=True),  # six months: in 91 days
        Built("etik", days_ago(183), Stage.ASSESSED.value, acknowledged=True,
              extended=True),  # six months passed
        Built("etik", days_ago(91), Stage.CONCLUDED.value, acknowledged=True),  # concluded
        Built("etik", days_ago(91), Stage.ASSESSED.value, acknowledged=True, feedback=True),
        # still "received" with a date set: acknowledged (the date is what counts)
        Built("etik", days_ago(30), acknowledged=True),
    )
    with services(casework).db.session() as db:  # a purged case is nobody's work any more
        purged = build(casework, Built("etik", days_ago(300)))[0]
        db.execute(update(Case).where(Case.id == purged.id).values(purged_on=TODAY))
    ids = [c.id for c in cases]
    assert _due(casework) == {
        (ids[1], ReminderKind.ACKNOWLEDGE_SOON), (ids[2], ReminderKind.ACKNOWLEDGE_SOON),
        (ids[3], ReminderKind.ACKNOWLEDGE_OVERDUE),
        (ids[5], ReminderKind.FEEDBACK_SOON), (ids[6], ReminderKind.FEEDBACK_OVERDUE),
        (ids[8], ReminderKind.FEEDBACK_OVERDUE),
        # the unacknowledged ones are also waiting for feedback, but not due yet
    }


# --- the inbox's overdue filter ----------------------------------------------------------


def test_the_feedback_overdue_filter_waits_six_months_for_an_extended_case(
        casework: Flask) -> None:
    with services(casework).db.session() as db:
        create_user(db, services(casework).config, username="eva", display_name="Eva",
                    unit_id="etik", role=Role.REVIEWER)
    late, extended, extended_late, fresh = build(
        casework,
        Built("etik", days_ago(100), Stage.ASSESSED.value, acknowledged=True,
              readers=("eva",)),
        Built("etik", days_ago(100), Stage.ASSESSED.value, acknowledged=True,
              extended=True, readers=("eva",)),
        Built("etik", days_ago(190), Stage.ASSESSED.value, acknowledged=True,
              extended=True, readers=("eva",)),
        Built("etik", days_ago(30), Stage.ASSESSED.value, acknowledged=True,
              extended=True, readers=("eva",)))
    with casework.app_context(), services(casework).db.session() as db:
        eva = db.scalars(select(User).where(User.username == "eva")).one()
        for overdue in ("feedback", "any"):
            found = {c.id for c in inbox(db, eva, overdue=overdue).cases}
            assert found == {late.id, extended_late.id}, overdue
        assert {c.id for c in inbox(db, eva).cases} == {
            late.id, extended.id, extended_late.id, fresh.id}


# --- the extension -----------------------------------------------------------------------


def _extend(linked: Linked, name: str, case_id: str, **fields: Any) -> int:
    person = client(linked, name)
    data = {"extend-csrf_token": token(person),
            **{f"extend-{k}": v for k, v in fields.items()}}
    return person.post(f"/cases/{case_id}/deadline/extend", data=data).status_code


def _received(linked: Linked, case_id: str, days: int) -> None:
    with services(linked.casework).db.session() as db:
        db.execute(update(Case).where(Case.id == case_id).values(received_on=days_ago(days)))


def _state(linked: Linked, case_id: str) -> tuple[Any, ...]:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return (case.feedback_extended, db.get(FeedbackExtension, case_id) is not None,
                len(db.scalars(select(CaseEnvelope).where(
                    CaseEnvelope.case_id == case_id)).all()),
                len(db.scalars(select(AuditEntry).where(
                    AuditEntry.action == "feedback_deadline_extended")).all()))


def test_a_lead_extends_the_feedback_deadline_once_with_a_sealed_reason(
        linked: Linked) -> None:
    case_id = report(linked)  # corruption: Antikorruptionsteamet (lead lena, anna reads)
    _received(linked, case_id, 60)
    lena_page = client(linked, "lena").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="deadlines"' in lena_page and 'id="extend-form"' in lena_page
    assert "30 days left" in lena_page
    anna_page = client(linked, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="deadlines"' in anna_page and 'id="extend-form"' not in anna_page
    before = _state(linked, case_id)
    # A reviewer reaches the view (the table lets readers in); the domain says no.
    assert _extend(linked, "anna", case_id, reason_code="complex-investigation") == 403
    assert _state(linked, case_id) == before

    assert _extend(linked, "lena", case_id, reason_code="other", reason_text=XSS) == 302
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        row = db.get(FeedbackExtension, case_id)
        assert case is not None and row is not None and case.feedback_extended
        assert case.feedback_by == days_ago(60) + dt.timedelta(days=182)
        assert row.reason_code == "other" and row.reason_envelope_id is not None
        sealed = db.get(CaseEnvelope, row.reason_envelope_id)
        assert sealed is not None and sealed.kind == "reason"
        entry = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "feedback_deadline_extended")).one()
        lena = db.scalars(select(User).where(User.username == "lena")).one()
        assert (entry.case_id, entry.actor_id) == (case_id, lena.id)
        assert XSS not in entry.details and json.loads(entry.details)["reason_code"] == "other"
    # Anna reads why (decrypted with her key), escaped; the timeline says what happened.
    page = client(linked, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "Feedback to the tipster (6 months, extended)" in page and "122 days left" in page
    assert "Feedback deadline extended to six months (reason: another reason" in page
    assert 'id="extend-form"' not in client(linked, "lena").get(
        f"/cases/{case_id}").get_data(as_text=True)
    # Once per case.
    extended = _state(linked, case_id)
    assert _extend(linked, "lena", case_id, reason_code="complex-investigation") == 409
    assert _state(linked, case_id) == extended


@pytest.mark.parametrize(("fields", "status"), [
    ({"reason_code": "because"}, 400),  # not a reason code
    ({"reason_code": "other"}, 400),  # another reason needs words
    ({"reason_code": "complex-investigation", "reason_text": "x" * 4001}, 400),
    ({"reason_text": "no code"}, 400),
    ({"reason_code": "x" * 100}, 400),
])
def test_a_refused_extension_changes_nothing(linked: Linked, fields: dict[str, str],
                                             status: int) -> None:
    case_id = report(linked)
    before = _state(linked, case_id)
    assert _extend(linked, "lena", case_id, **fields) == status
    assert _state(linked, case_id) == before


def test_hostile_requests_to_extend_are_refused(linked: Linked) -> None:
    case_id = report(linked)
    lena = client(linked, "lena")
    path = f"/cases/{case_id}/deadline/extend"
    good = {"extend-reason_code": "complex-investigation"}
    before = _state(linked, case_id)
    answers = [
        lena.post(path, data=good),  # no CSRF token
        lena.post(path, json={"extend-csrf_token": token(lena), **good}),  # JSON
        lena.post(path, data={"extend-csrf_token": token(lena), **good,
                              "extend-reason_text": (io.BytesIO(b"a file"), "r.txt")},
                  content_type="multipart/form-data"),  # a field sent as a file
        lena.post(f"/cases/{ZERO}/deadline/extend",
                  data={"extend-csrf_token": token(lena), **good}),  # forged id
    ]
    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert [a.status_code for a in answers][-1] == 403
    assert _state(linked, case_id) == before
    # Reason text that is not UTF-8 is read leniently, like every form field.
    raw = (f"extend-csrf_token={token(lena)}&extend-reason_code=other"
           "&extend-reason_text=%ff%fe").encode()
    assert lena.post(path, data=raw, content_type="application/x-www-form-urlencoded") \
        .status_code == 302


def test_too_late_or_nothing_left_to_extend_is_a_409(linked: Linked) -> None:
    late, answered = report(linked), report(linked, what="Second report")
    _received(linked, late, 91)  # the three months passed yesterday
    with services(linked.casework).db.session() as db:
        db.execute(update(Case).where(Case.id == answered).values(feedback_on=TODAY))
    for case_id in (late, answered):
        before = _state(linked, case_id)
        with pytest.raises(CaseworkError) as refused:
            call(linked, "lena", extend_feedback_deadline, case_id, "complex-investigation",
                 "")
        assert refused.value.status == 409
        assert _state(linked, case_id) == before
    # Within the three months: extended, and the new deadline is returned.
    fresh = report(linked, what="Third report")
    _received(linked, fresh, 90)  # the last day
    assert call(linked, "lena", extend_feedback_deadline, fresh, "awaiting-external",
                "") == days_ago(90) + dt.timedelta(days=182)


def test_two_extensions_at_once_end_with_one(linked: Linked) -> None:
    """Real threads on real SQLite: one extension, the other a clean 409."""
    case_id = report(linked)
    barrier = threading.Barrier(2)

    def run(code: str) -> object:
        barrier.wait()
        try:
            return call(linked, "lena", extend_feedback_deadline, case_id, code, "")
        except CaseworkError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["complex-investigation", "volume-of-material"]))
    assert sorted(isinstance(r, dt.date) for r in results) == [False, True], results
    refused = next(r for r in results if isinstance(r, CaseworkError))
    assert refused.status == 409
    with services(linked.casework).db.session() as db:
        assert len(db.scalars(select(FeedbackExtension)).all()) == 1
        assert len(db.scalars(select(AuditEntry).where(
            AuditEntry.action == "feedback_deadline_extended")).all()) == 1


# --- staff e-mail addresses ----------------------------------------------------------------


def test_the_administrator_sets_addresses_and_refuses_what_is_not_one(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    admin = enrol("admin", Role.ADMINISTRATOR, "kof")
    browser = casework.test_client()
    log_in(casework, browser, admin)
    form = csrf(browser, "/admin/users")

    def create(name: str, address: str) -> int:
        return browser.post("/admin/users", data={
            "csrf_token": form, "username": name, "display_name": name.title(),
            "unit": "etik", "role": "unit_lead", "email": address}).status_code

    def set_to(name: str, address: Any) -> int:
        return browser.post(f"/admin/users/{name}/email",
                            data={"csrf_token": form, "email": address}).status_code

    def address_of(name: str) -> str | None:
        with services(casework).db.session() as db:
            return db.scalars(select(User.email).where(User.username == name)).one()

    assert create("lars", " lars@myndighet.example.se ") == 302
    assert address_of("lars") == "lars@myndighet.example.se"
    for bad in ("not an address", "a@b", "eva@example.se\r\nBcc: all@example.se",
                "eva@example.se, erik@example.se", "<eva@example.se>", "x" * 250 + "@ex.se",
                "åsa@example.se"):
        assert create("olle", bad) == 400, bad
        assert set_to("lars", bad) == 400, bad
    assert address_of("lars") == "lars@myndighet.example.se"
    with services(casework).db.session() as db:
        assert db.scalar(select(User).where(User.username == "olle")) is None
    assert set_to("lars", "lars.l@myndighet.example.se") == 302
    assert address_of("lars") == "lars.l@myndighet.example.se"
    assert set_to("nobody", "x@example.se") == 400
    assert browser.post("/admin/users/lars/email", data={"email": ""}).status_code == 400
    assert set_to("lars", "") == 302 and address_of("lars") is None
    page = browser.get("/admin/users").get_data(as_text=True)
    assert 'id="email-' in page
    with services(casework).db.session() as db:
        entries = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "email_changed")).all()
        assert len(entries) == 2  # set, cleared; the address itself is never logged
        assert all("example.se" not in e.details for e in entries)
