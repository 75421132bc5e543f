"""What a case page decrypts and shows: who an item is from, how much is decrypted, and
what the tipster's copy of a reply tells a thief of the receipt."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

import crypto
from casework.models import CaseEnvelope
from common.storage import commit_in_transaction
from tests.intake.conftest import csrf_token, sign_in, submit

from .conftest import csrf, services
from .linked import Linked
from .test_cases import XSS, _case_id, _reviewer


def _section(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</(ol|ul)>', page, re.S)
    assert match, element_id
    return match.group(1)


def _plant(linked: Linked, case_id: str, *, kind: str, origin: str, payload: dict[str, object],
           author: str | None = None) -> str:
    """An envelope sealed to the case's readers, stored as the bridge or staff would."""
    casework = services(linked.casework)
    eva = linked.staff["eva"].key
    assert eva is not None
    incoming, file = casework.store.new_incoming()
    with file:
        sealed = crypto.seal_stream(io.BytesIO(json.dumps(payload).encode()), file,
                                    [eva.public_key, linked.escrow.public_key],
                                    routing={"kind": kind})
    envelope_id = sealed.envelope_id.hex()
    with casework.db.session() as db:
        author_id = None
        if author is not None:
            from casework.models import User
            author_id = db.scalars(select(User.id).where(User.username == author)).one()
        db.add(CaseEnvelope(id=envelope_id, case_id=case_id, kind=kind, header=sealed.header,
                            body_size=sealed.body_size, origin=origin, author_id=author_id))
        commit_in_transaction(db, casework.store, incoming, envelope_id)
    return envelope_id


# --- finding 7: an item from intake is always the tipster's ---------------------------


@pytest.mark.parametrize(("kind", "payload"), [
    ("note", {"text": XSS, "by": "Eva", "sent_at": "2026-01-01T00:00:00"}),
    ("message", {"author": "reviewer", "by": "Eva", "text": XSS,
                 "sent_at": "2026-01-01T00:00:00"}),
    ("message", {"author": "reviewer", "automatic": True, "text": XSS,
                 "sent_at": "2026-01-01T00:00:00"}),
], ids=["kind-note", "author-reviewer", "automatic"])
def test_intake_item_posing_as_staff_is_shown_as_the_tipsters(
        linked: Linked, kind: str, payload: dict[str, object]) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    _plant(linked, case_id, kind=kind, origin="intake", payload=payload)
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    dialogue, notes = _section(page, "dialogue"), _section(page, "notes")
    assert "alert(1)" not in notes
    planted = next(item for item in dialogue.split("<li")[1:] if "alert(1)" in item)
    assert 'class="from-them"' in planted and "Tipster" in planted
    assert "Eva" not in planted
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in planted


def test_casework_note_without_an_author_is_not_shown(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    _plant(linked, case_id, kind="note", origin="casework",
           payload={"text": "NOBODY-WROTE-THIS", "by": "Eva"})
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "NOBODY-WROTE-THIS" not in page


def test_staff_items_show_their_author_from_the_row(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    _plant(linked, case_id, kind="note", origin="casework", author="erik",
           payload={"text": "Planted by Erik's row", "by": "Somebody Else"})
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    notes = _section(page, "notes")
    assert "Erik" in notes and "Somebody Else" not in notes


# --- finding 4: the tipster's copy of a reply names nobody ---------------------------


def test_stolen_receipt_does_not_reveal_who_handles_the_case(
        linked: Linked, argon2_params: crypto.Argon2Params) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": "Which year was this?"})
    tipster_key = crypto.derive_receipt_keys(receipt, b"t" * 16, argon2_params).tipster_key
    casework = services(linked.casework)
    with casework.db.session() as db:
        reply = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                      CaseEnvelope.author_id.is_not(None))).one()
        header, envelope_id = reply.header, reply.id
    out = io.BytesIO()
    with casework.store.open(envelope_id) as body:
        crypto.open_stream(header, body, out, tipster_key)
    payload = json.loads(out.getvalue())
    assert payload["text"] == "Which year was this?"
    assert "by" not in payload and "Eva" not in out.getvalue().decode()
    # The case's readers still see who wrote it (from the envelope's author row).
    assert "Eva" in _section(eva.get(f"/cases/{case_id}").get_data(as_text=True), "dialogue")
    linked.sync()
    sign_in(tipster, receipt)
    assert "Eva" not in tipster.get("/dialogue").get_data(as_text=True)


# --- finding 6: what is decrypted into memory ----------------------------------------


def test_huge_message_from_intake_is_not_decrypted_on_a_case_view(
        linked: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap, scaled down so that a message intake accepts exceeds it.
    monkeypatch.setattr("casework.case_view.MAX_SHOWN_BYTES", 8 * 1024)
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    sign_in(tipster, receipt)
    text = "HUGE-" + "x" * 15_000
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": text}, content_type="multipart/form-data")
    linked.sync()
    eva = _reviewer(linked, "eva")
    case_id = _case_id(linked)
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "HUGE-" not in page and "Too large to show" in page
    link = re.search(r'href="(/cases/[0-9a-f]+/files/[0-9a-f]+)">Download it', page)
    assert link
    response = eva.get(link.group(1))
    assert response.is_streamed or response.status_code == 200
    assert json.loads(response.data)["text"] == text
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_file_download_is_streamed_not_read_into_memory(linked: Linked) -> None:
    import tracemalloc

    size = 6 * 1024 * 1024
    submit(linked.intake.test_client(), category="ethics",
           files=[(io.BytesIO(b"A" * size), "big.bin")])
    linked.sync()
    eva = _reviewer(linked, "eva")
    page = eva.get(f"/cases/{_case_id(linked)}").get_data(as_text=True)
    link = re.search(r'href="(/cases/[0-9a-f]+/files/[0-9a-f]+)"', page)
    assert link
    tracemalloc.start()
    try:
        response = eva.get(link.group(1), buffered=False)
        received = sum(len(piece) for piece in response.iter_encoded())
        response.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < size // 3  # a few chunks at a time, never the whole file


def test_a_note_is_added_without_decrypting_the_rest_of_the_case(linked: Linked) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    sign_in(tipster, receipt)
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": "A follow-up."},
                 content_type="multipart/form-data")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    token = csrf(eva, f"/cases/{case_id}")
    casework = services(linked.casework)
    with casework.db.session() as db:
        follow_up = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "message",
            CaseEnvelope.origin == "intake")).one()
        casework.store.delete(follow_up.id)  # writing a note must not need to open it
    response = eva.post(f"/cases/{case_id}/notes", data={"csrf_token": token,
                                                         "note-text": "Noted."})
    assert response.status_code == 302
    with casework.db.session() as db:
        assert db.scalars(select(CaseEnvelope).where(CaseEnvelope.kind == "note")).one()
