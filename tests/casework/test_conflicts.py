"""Declaring a conflict of interest: refused at once on every route, the reason sealed to
the others only, the unit lead's list, the case page's flag, and hostile input."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

import crypto
from casework.models import CaseEnvelope, Conflict, User
from tests.intake.conftest import submit
from tests.support.databases import stored_bytes

from .conflict_support import (
    add_etik_lead,
    body,
    client,
    conflicts,
    declare,
    envelopes,
    key_of,
    readers,
    reported_case,
    stored_files,
    user_id,
)
from .conftest import Staff, csrf, services
from .events_support import record
from .linked import Linked

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'
ZERO = "0" * 32


@pytest.fixture
def lead(linked: Linked, enrol: Callable[..., Staff]) -> Linked:
    add_etik_lead(linked, enrol)
    return linked


def _case_routes(linked: Linked) -> list[tuple[str, str]]:
    """Every route of the app that names a case (this issue's other routes included)."""
    routes = []
    for rule in linked.casework.url_map.iter_rules():
        if "case_id" not in rule.arguments:
            continue
        method = "GET" if "GET" in (rule.methods or set()) else "POST"
        routes.append((method, rule.rule))
    return routes


def test_declaring_refuses_the_declarer_on_every_route_of_the_case_at_once(
        lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    erik = client(linked, "erik")
    file_id = next(e.id for e in envelopes(linked, case.case_id) if e.kind == "file")
    assert erik.get(f"/cases/{case.case_id}/files/{file_id}").status_code == 200
    assert declare(linked, "erik", case.case_id, "My nephew.") == 302
    before = envelopes(linked, case.case_id)
    token = csrf(erik, "/")
    routes = _case_routes(linked)
    assert {"/cases/<case_id>", "/cases/<case_id>/reply", "/cases/<case_id>/notes",
            "/cases/<case_id>/files/<envelope_id>", "/conflicts/<case_id>/declare",
            "/conflicts/<case_id>/rekey"} <= {rule for _method, rule in routes}
    for method, rule in routes:
        path = rule.replace("<case_id>", case.case_id).replace("<envelope_id>", file_id)
        path = re.sub(r"<[^>]+>", ZERO, path)
        if method == "GET":
            answer = erik.get(path)
        else:
            # Every field a form of this issue may read, prefixed or not, so that the
            # access check (not form validation) is what answers.
            fields = {"csrf_token": token, "text": "x", "reason_text": "x", "confirm": "y"}
            data = {**fields, **{f"{p}-{k}": v for p in ("reply", "note", "conflict",
                                                           "rekey", "triage", "stage")
                                 for k, v in fields.items()}}
            answer = erik.post(path, data=data)
        assert answer.status_code in (400, 403), (rule, answer.status_code)
        assert "hired her nephew" not in answer.get_data(as_text=True), rule
    for rule in ("/cases/{}", "/cases/{}/files/" + file_id):
        assert erik.get(rule.format(case.case_id)).status_code == 403
    for rule, field in (("/cases/{}/reply", "reply-text"), ("/cases/{}/notes", "note-text")):
        assert erik.post(rule.format(case.case_id),
                         data={"csrf_token": token, field: "still here"}).status_code == 403
    assert envelopes(linked, case.case_id) == before  # nothing changed, nothing sealed


def test_the_reason_is_sealed_to_the_other_readers_never_to_the_declarer(
        lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    recorder = record(linked.casework)
    assert declare(linked, "erik", case.case_id, "SECRET-REASON-MARKER my nephew") == 302
    [conflict] = conflicts(linked, case.case_id)
    assert conflict.user_id == user_id(linked, "erik") and conflict.rekeyed_at is None
    assert conflict.reason_envelope_id is not None
    [reason] = [e for e in envelopes(linked, case.case_id) if e.id == conflict.reason_envelope_id]
    assert reason.kind == "reason"
    assert key_of(linked, "erik").key_id not in crypto.header_key_ids(reason.header)
    for name in ("eva", "lars"):
        content_key = crypto.open_content_key(reason.header, key_of(linked, name))
        out = io.BytesIO()
        crypto.decrypt_body(io.BytesIO(body(linked, reason)), out, content_key)
        assert json.loads(out.getvalue())["text"] == "SECRET-REASON-MARKER my nephew"
    database = stored_bytes(services(linked.casework).config.database_url)
    assert b"SECRET-REASON-MARKER" not in database
    from casework.events import ConflictDeclared
    assert [(e.case_id, e.user_id) for e in recorder.of(ConflictDeclared)] == [
        (case.case_id, user_id(linked, "erik"))]


def test_an_empty_reason_seals_nothing(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    before = {e.id for e in envelopes(linked, case.case_id)}
    assert declare(linked, "erik", case.case_id) == 302
    assert conflicts(linked, case.case_id)[0].reason_envelope_id is None
    assert {e.id for e in envelopes(linked, case.case_id)} == before


@pytest.mark.parametrize("data", [
    {"conflict-reason": "no confirmation"},  # the box not ticked
    {"conflict-confirm": "y", "conflict-reason": "x" * 4001},  # too long
])
def test_an_invalid_declaration_is_a_400_and_changes_nothing(lead: Linked,
                                                            data: dict[str, str]) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    erik = client(linked, "erik")
    files = stored_files(linked)
    form = {"conflict-csrf_token": csrf(erik, "/"), **data}
    answer = erik.post(f"/conflicts/{case.case_id}/declare", data=form)
    assert answer.status_code == 400
    assert conflicts(linked, case.case_id) == [] and stored_files(linked) == files
    assert erik.get(f"/cases/{case.case_id}").status_code == 200


def test_hostile_requests_to_declare_are_refused_without_a_change(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    erik = client(linked, "erik")
    path = f"/conflicts/{case.case_id}/declare"
    answers = [
        erik.post(path, data={"conflict-confirm": "y"}),  # no CSRF token
        erik.post(path, json={"conflict-confirm": "y",
                              "conflict-csrf_token": csrf(erik, "/")}),  # JSON, not a form
        erik.post(path, data={"conflict-csrf_token": csrf(erik, "/"), "conflict-confirm": "y",
                              "conflict-reason": (io.BytesIO(b"a file"), "r.txt")},
                  content_type="multipart/form-data"),  # a field sent as a file
        erik.post(f"/conflicts/{ZERO}/declare", data={
            "conflict-csrf_token": csrf(erik, "/"), "conflict-confirm": "y"}),  # forged id
        erik.post("/conflicts/..%2F..%2Fetc/declare", data={
            "conflict-csrf_token": csrf(erik, "/"), "conflict-confirm": "y"}),
    ]
    assert all(400 <= a.status_code < 500 for a in answers), [a.status_code for a in answers]
    assert conflicts(linked, case.case_id) == []
    # A reason that is not UTF-8 is read leniently (as every form field): declared, sealed.
    raw = f"conflict-csrf_token={csrf(erik, '/')}&conflict-confirm=y&conflict-reason=%ff%fe"
    answer = erik.post(path, data=raw.encode(), content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 302 and len(conflicts(linked, case.case_id)) == 1


def test_only_readers_of_the_case_may_declare(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    for name in ("anna", "lena", "cecilia", "admin", "stina"):  # other unit, or no reader
        assert declare(linked, name, case.case_id) == 403, name
    assert conflicts(linked, case.case_id) == []


def test_a_reader_excluded_by_the_tipster_cannot_declare(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics",
           excluded=[key_of(linked, "erik").public_key.key_id_hex])
    linked.sync()
    with services(linked.casework).db.session() as db:
        case_id = db.scalars(select(CaseEnvelope.case_id)).first()
    assert case_id is not None
    assert declare(linked, "erik", case_id) == 403


def test_the_lead_sees_the_flagged_cases_of_their_units(lead: Linked,
                                                        enrol: Callable[..., Staff]) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    with services(linked.casework).db.session() as db:
        db.scalars(select(User).where(User.username == "erik")).one().display_name = XSS
    assert declare(linked, "erik", case.case_id) == 302
    lars = client(linked, "lars")
    assert 'id="conflicts-link"' in lars.get("/").get_data(as_text=True)
    listed = lars.get("/conflicts/")
    page = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert f'href="/cases/{case.case_id}"' in page and "Waiting for a reader" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "hired her nephew" not in page  # no content on the list
    # Lars opens the case: it is rekeyed, and the flag says so.
    shown = lars.get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert 'id="conflict-flag"' in shown and "re-encrypted without" in shown
    assert "<script>alert(1)" not in shown
    assert "Waiting for a reader" not in lars.get("/conflicts/").get_data(as_text=True)
    # Other units' leads and reviewers see none of it.
    assert "LY-" not in client(linked, "lena").get("/conflicts/").get_data(as_text=True)
    assert client(linked, "eva").get("/conflicts/").status_code == 403
    assert 'id="conflicts-link"' not in client(linked, "eva").get("/").get_data(as_text=True)


def test_the_case_page_offers_the_declaration_and_explains_it(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    page = client(linked, "eva").get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert 'id="declare-form"' in page and 'id="conflict-explained"' in page
    assert 'id="rekey-form"' not in page and 'id="conflict-flag"' not in page


def test_a_pending_rekey_offers_the_button_to_a_reader_who_cannot_rekey(
        lead: Linked) -> None:
    """A reader who cannot open every item opens the case (no rekey): the flag says it
    waits, and the button is there for when they can."""
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    with services(linked.casework).db.session() as db:
        note = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id,
                                                     CaseEnvelope.kind == "note")).one()
        note.header = crypto.remove_recipient(note.header, key_of(linked, "eva").key_id)
    page = client(linked, "eva").get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert 'id="conflict-flag"' in page and "waits to be re-encrypted" in page
    assert 'id="rekey-form"' in page


def test_the_readers_row_stays_until_the_rekey_but_the_inbox_hides_the_case_at_once(
        lead: Linked) -> None:
    """The header (and so case_readers) still lists the declarer until the rekey; the
    inbox (casework.inbox) leaves out a case the person declared a conflict on."""
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id) == 302
    assert readers(linked, case.case_id) == {"eva", "erik", "lars"}
    with services(linked.casework).db.session() as db:
        assert db.scalar(select(Conflict.user_id)) == user_id(linked, "erik")
    assert "LY-" not in client(linked, "erik").get("/cases/").get_data(as_text=True)
