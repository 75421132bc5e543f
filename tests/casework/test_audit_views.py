"""The auditor browses, filters, pages, exports and verifies the log, and reads no content."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from casework.events import CaseRead, SignedIn
from casework.models import AuditEntry, Case, Role, User
from tests.intake.conftest import submit

from .audit_support import emit, entries
from .conftest import Staff, csrf, log_in, services
from .linked import Linked

MARKER = "Zebrafinch-7731 bribed the procurement board"
REPLY = "Quokka-4419 which year was it"


def auditor(app: Flask, enrol: Callable[..., Staff], name: str = "ulla") -> FlaskClient:
    staff = enrol(name, Role.AUDITOR, "kof")
    client = app.test_client()
    log_in(app, client, staff)
    return client


def user_id(app: Flask, username: str) -> str:
    with services(app).db.session() as db:
        found = db.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def test_the_auditor_reads_every_page_and_export_without_any_content(
        linked: Linked, enrol: Callable[..., Staff]) -> None:
    submit(linked.intake.test_client(), category="ethics", what=MARKER,
           files=[(io.BytesIO(b"%PDF-1.4 " + MARKER.encode()), "Zebrafinch.pdf")])
    linked.sync()
    eva = linked.casework.test_client()
    log_in(linked.casework, eva, linked.staff["eva"])
    with services(linked.casework).db.session() as db:
        case = db.scalars(select(Case)).one()
        case_id, reference = case.id, case.reference
    assert MARKER in eva.get(f"/cases/{case_id}").get_data(as_text=True)
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": REPLY})
    linked.sync()
    ulla = auditor(linked.casework, enrol)
    pages = [ulla.get(path) for path in (
        "/", "/audit/", f"/audit/?case={reference}", "/audit/?text=case", "/audit/verify",
        "/audit/export?format=csv", "/audit/export?format=json")]
    assert [p.status_code for p in pages] == [200] * 7
    for page in pages:
        text = page.get_data(as_text=True)
        assert "Zebrafinch" not in text and "Quokka" not in text and "procurement" not in text
    log = pages[1].get_data(as_text=True)
    for action in ("case_opened", "item_imported", "case_read", "reply_sent",
                   "signed_in"):
        assert f"<td>{action}</td>" in log
    assert 'id="audit-link"' in pages[0].get_data(as_text=True)
    # By the case's reference: its entries, shown with the reference; the reader by name.
    by_case = pages[2].get_data(as_text=True)
    assert reference in by_case and "<td>case_read</td>" in by_case
    assert "<td>signed_in</td>" not in by_case
    with services(linked.casework).db.session() as db:
        eva_name = db.scalars(select(User).where(User.username == "eva")).one().display_name
    assert f"<td>{eva_name}</td>" in by_case
    assert f"<td>{user_id(linked.casework, 'eva')}</td>" not in by_case
    # The verify page shows the newest background run (none yet): it verifies nothing
    # itself (tests/casework/test_audit_verification.py).
    assert 'id="verify-now"' in pages[4].get_data(as_text=True)
    # The content never reached the database's log either.
    for entry in entries(linked.casework):
        assert "Zebrafinch" not in entry.details and "Quokka" not in entry.details


def test_filters_by_person_action_period_and_text(casework: Flask,
                                                  enrol: Callable[..., Staff]) -> None:
    client = auditor(casework, enrol)
    ulla = user_id(casework, "ulla")
    emit(casework, CaseRead("c" * 32, "b" * 32), CaseRead("d" * 32, ulla))
    by_person = client.get(f"/audit/?person={ulla}").get_data(as_text=True)
    assert "d" * 32 in by_person and "c" * 32 not in by_person
    by_action = client.get("/audit/?action=case_read").get_data(as_text=True)
    assert "c" * 32 in by_action and "<td>signed_in</td>" not in by_action
    by_text = client.get("/audit/?text=" + "d" * 10).get_data(as_text=True)
    assert "d" * 32 in by_text and "c" * 32 not in by_text
    # LIKE's wildcards are taken literally.
    assert "audit-empty" in client.get("/audit/?text=%25").get_data(as_text=True)
    today = entries(casework)[-1].at.date()
    assert "c" * 32 in client.get(f"/audit/?since={today}&until={today}").get_data(
        as_text=True)
    earlier = today.replace(year=today.year - 1)
    assert "audit-empty" in client.get(f"/audit/?until={earlier}").get_data(as_text=True)


def test_pages_go_back_by_seq(casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = auditor(casework, enrol)
    emit(casework, *[CaseRead(f"{n:032d}", "b" * 32) for n in range(70)])
    first = client.get("/audit/?action=case_read").get_data(as_text=True)
    assert f"{69:032d}" in first and f"{5:032d}" not in first
    link = first.split('href="/audit/?older=')[1].split('"')[0].replace("&amp;", "&")
    second = client.get("/audit/?older=" + link).get_data(as_text=True)
    assert f"{5:032d}" in second and f"{69:032d}" not in second
    assert "older=" not in second


def test_bad_filters_are_a_400_and_change_nothing(casework: Flask,
                                                  enrol: Callable[..., Staff]) -> None:
    client = auditor(casework, enrol)
    before = len(entries(casework))
    for query in ("since=yesterday", "until=2025-13-01", "action=drop_table",
                  "text=" + "x" * 101, "case=%00abc", "text=a%0Ab"):
        assert client.get("/audit/?" + query).status_code == 400, query
        assert client.get("/audit/export?format=csv&" + query).status_code == 400, query
    assert client.get("/audit/export?format=xml").status_code == 400
    assert client.get("/audit/?older=abc").status_code == 200  # ignored, from the top
    assert len(entries(casework)) == before


def test_display_names_are_escaped_and_defused_in_csv(casework: Flask,
                                                      enrol: Callable[..., Staff]) -> None:
    client = auditor(casework, enrol)
    enrol("mallory", Role.REVIEWER, "etik")
    with services(casework).db.session() as db:
        db.execute(update(User).where(User.username == "mallory").values(
            display_name='=HYPERLINK("http://x")<script>alert(1)</script>'))
    emit(casework, SignedIn(user_id(casework, "mallory")))
    page = client.get("/audit/").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    exported = client.get("/audit/export?format=csv&action=signed_in").get_data(as_text=True)
    names = [row["actor"] for row in csv.DictReader(io.StringIO(exported))]
    assert "'=HYPERLINK(\"http://x\")<script>alert(1)</script>" in names


def test_the_export_is_the_filtered_set_and_is_itself_logged(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = auditor(casework, enrol)
    emit(casework, *[CaseRead("c" * 32, "b" * 32) for _ in range(3)])
    response = client.get("/audit/export?format=json&action=case_read")
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-log.json"'
    records = json.loads(response.get_data(as_text=True))
    assert [r["action"] for r in records] == ["case_read"] * 3
    assert records[0]["details"] == {} and records[0]["case_id"] == "c" * 32
    seqs = [r["seq"] for r in records]
    assert seqs == sorted(seqs)
    rows = list(csv.DictReader(io.StringIO(
        client.get("/audit/export?format=csv").get_data(as_text=True))))
    assert {r["action"] for r in rows} >= {"signed_in", "case_read"}
    with services(casework).db.session() as db:
        exported = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "audit_log_exported")).all()
    assert [json.loads(e.details) for e in exported] == [
        {"format": "json", "filtered": ["action"]}, {"format": "csv", "filtered": []}]
    assert {e.actor_id for e in exported} == {user_id(casework, "ulla")}
