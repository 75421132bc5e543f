"""Each action of casework emits its domain event, handed on only after its commit, and
an event names ids and codes, never content."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from casework.events import (
    CaseAssigned,
    CaseRead,
    EnrolmentCompleted,
    EnrolmentStarted,
    FileDownloaded,
    NoteAdded,
    PasswordReset,
    RefusalReason,
    ReplySent,
    SignedIn,
    SignedOut,
    SignInRefused,
    UserCreated,
)
from casework.models import User

from .accounts_support import finish_enrolling, new_person, post_login, start_enrolling
from .conftest import csrf, services
from .events_support import a_case, only_ids_and_codes, post_text, record
from .linked import Linked
from .test_cases import _reviewer


def _id(linked: Linked, name: str) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


def test_reading_downloading_replying_and_noting_emit_their_events(linked: Linked) -> None:
    case_id = a_case(linked, category="ethics", what="The nephew again.",
                     files=[(io.BytesIO(b"%PDF-1.4 minutes"), "minutes.pdf")])
    eva = _reviewer(linked, "eva")
    events = record(linked.casework)
    eva_id = _id(linked, "eva")

    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert events.of(CaseRead) == [CaseRead(case_id, eva_id)]
    link = re.search(r'href="/cases/[0-9a-f]+/files/([0-9a-f]+)"', page)
    assert link
    assert eva.get(f"/cases/{case_id}/files/{link.group(1)}").status_code == 200
    assert events.of(FileDownloaded) == [FileDownloaded(case_id, link.group(1), eva_id)]

    assert post_text(eva, case_id, "reply", "Which year?") == 302
    assert post_text(eva, case_id, "note", "Check the files.") == 302
    (reply,) = events.of(ReplySent)
    (note,) = events.of(NoteAdded)
    assert isinstance(reply, ReplySent) and isinstance(note, NoteAdded)
    assert (reply.case_id, reply.user_id) == (note.case_id, note.user_id) == (case_id, eva_id)
    # Handed on after the commit: another connection saw the envelope rows by then.
    assert events.committed_rows[reply.envelope_id] and events.committed_rows[note.envelope_id]
    # The same events were heard inside the transaction, before it committed.
    assert [e for e in events.before if isinstance(e, (ReplySent, NoteAdded))] == [reply, note]
    for event in events.after:
        assert only_ids_and_codes(event)
        assert not {"Which year?", "Check the files.", "minutes.pdf"} & set(vars(event).values())


def test_assignment_emits_who_gave_the_case_to_whom(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption", what="Kickbacks")
    lena = _reviewer(linked, "lena")
    events = record(linked.casework)
    response = lena.post(f"/cases/{case_id}/assign", data={
        "csrf_token": csrf(lena, f"/cases/{case_id}"), "person": _id(linked, "anna")})
    assert response.status_code == 302
    (assigned,) = events.of(CaseAssigned)
    assert isinstance(assigned, CaseAssigned)
    assert (assigned.case_id, assigned.user_id, assigned.by) == \
        (case_id, _id(linked, "anna"), _id(linked, "lena"))


def test_sign_in_and_out_emit_and_a_refusal_is_heard_though_the_request_fails(
        linked: Linked) -> None:
    app = linked.casework
    events = record(app)
    eva = linked.staff["eva"]
    client = app.test_client()
    assert post_login(client, "eva", "wrong password!", eva.code(app)) == 401
    assert post_login(client, "no-such-name", "typed secret", "123456") == 401
    # The refusals have a transaction of their own (they count towards the lockout).
    assert events.of(SignInRefused) == [
        SignInRefused(RefusalReason.CREDENTIALS, _id(linked, "eva")),
        SignInRefused(RefusalReason.CREDENTIALS, None)]
    for event in events.after:  # never the name typed, never the password
        assert not {"no-such-name", "typed secret", "wrong password!"} \
            & {str(v) for v in vars(event).values()}
    assert post_login(client, "eva", eva.password, eva.code(app)) == 302
    assert events.of(SignedIn) == [SignedIn(_id(linked, "eva"))]
    assert client.post("/logout", data={"csrf_token": csrf(client, "/")}).status_code == 302
    assert events.of(SignedOut) == [SignedOut(_id(linked, "eva"))]


def test_administration_and_enrolment_emit_their_events(linked: Linked) -> None:
    app = linked.casework
    events = record(app)
    admin = _reviewer(linked, "admin")
    response = admin.post("/admin/users", data={
        "csrf_token": csrf(admin, "/admin/users"), "username": "nora",
        "display_name": "Nora", "unit": "etik", "role": "reviewer"})
    assert response.status_code == 302
    (created,) = events.of(UserCreated)
    assert created == UserCreated(_id(linked, "nora"), "etik", "reviewer", _id(linked, "admin"))
    response = admin.post("/admin/users/eva/reset",
                          data={"csrf_token": csrf(admin, "/admin/users")})
    assert response.status_code == 302
    assert events.of(PasswordReset) == [PasswordReset(_id(linked, "eva"), "admin")]

    password = new_person(app, "petra")
    client, secret = start_enrolling(app, "petra", password)
    assert events.of(EnrolmentStarted) == [EnrolmentStarted(_id(linked, "petra"))]
    assert finish_enrolling(client, secret, "a new long password") == 302
    assert events.of(EnrolmentCompleted) == [
        EnrolmentCompleted(_id(linked, "petra"), new_key=True, awaits_approval=False)]
    assert events.of(SignedIn)[-1] == SignedIn(_id(linked, "petra"))
