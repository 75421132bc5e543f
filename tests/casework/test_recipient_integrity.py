"""Write access to the casework database alone must not get anyone sealed a new item:
the reader list is tagged under the report's content key and checked before sealing."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

import crypto
from casework.models import Case, CaseEnvelope, Membership, Role, User
from crypto.recipients import RecipientEntry, RecipientHeader, parse_header
from tests.intake.conftest import submit

from .conftest import csrf, services
from .linked import Linked
from .test_cases import _case_id, _reviewer


def _append_forged_entry(header: bytes, key: crypto.PublicKey) -> bytes:
    """What an attacker without any content key can do: add an entry with their key id
    (its sealed part is junk: they cannot seal K, they only want new items sealed)."""
    parsed = parse_header(header)
    junk = RecipientEntry(key.key_id, secrets.token_bytes(len(parsed.entries[0].sealed)))
    return RecipientHeader(parsed.envelope_id, (*parsed.entries, junk)).to_bytes()


def _plant_attacker(linked: Linked, case_id: str) -> crypto.PrivateKey:
    """The database attacker: a user row with their key, appended to the report header."""
    attacker = crypto.PrivateKey.generate()
    with services(linked.casework).db.session() as db:
        user = User(username="mallory", display_name="Mallory", password_hash="x",
                    public_key=attacker.public_key.raw)
        user.memberships.append(Membership(unit_id="etik", role=Role.REVIEWER.value))
        db.add(user)
        report = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                       CaseEnvelope.kind == "report")).one()
        report.header = _append_forged_entry(report.header, attacker.public_key)
    return attacker


def _notes(linked: Linked, case_id: str) -> list[CaseEnvelope]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                          CaseEnvelope.kind == "note")))


def _opens_any(key: crypto.PrivateKey, envelopes: list[CaseEnvelope]) -> bool:
    for envelope in envelopes:
        try:
            crypto.open_content_key(envelope.header, key)
        except crypto.DecryptionError:
            continue
        return True
    return False


def test_appended_attacker_key_gets_no_new_note(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    assert eva.get(f"/cases/{case_id}").status_code == 200  # the list gets its tag
    token = csrf(eva, "/cases/")
    attacker = _plant_attacker(linked, case_id)
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": token, "note-text": "Interview the head of unit."})
    assert response.status_code == 409  # refused: the list does not match its tag
    assert _notes(linked, case_id) == []
    with services(linked.casework).db.session() as db:
        sealed = list(db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.origin == "casework")))
    assert not _opens_any(attacker, sealed)  # not the acknowledgement either


def test_appended_excluded_reviewer_key_before_anyone_opened_gets_no_note(
        linked: Linked) -> None:
    """Before the first reader opens the case there is no tag yet (trust on first use);
    the first tag is refused if the header holds a key the tipster excluded."""
    erik_key = linked.staff["erik"].key
    assert erik_key is not None
    submit(linked.intake.test_client(), category="ethics",
           excluded=[erik_key.public_key.key_id_hex])
    linked.sync()
    case_id = _case_id(linked)
    with services(linked.casework).db.session() as db:
        report = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                       CaseEnvelope.kind == "report")).one()
        report.header = _append_forged_entry(report.header, erik_key.public_key)
    eva = _reviewer(linked, "eva")
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": csrf(eva, "/cases/"), "note-text": "Hello."})
    assert response.status_code == 409
    assert _notes(linked, case_id) == []


def test_appended_attacker_key_before_anyone_opened_gets_no_note(linked: Linked) -> None:
    """No trust on first use: intake lists the readers inside the sealed report, so a key
    appended before the first reader opens the case is refused at the first tag."""
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    attacker = _plant_attacker(linked, case_id)
    eva = _reviewer(linked, "eva")
    eva.get(f"/cases/{case_id}")  # reading is unharmed; the list is just not tagged
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": csrf(eva, "/cases/"), "note-text": "Hello."})
    assert response.status_code == 409
    assert _notes(linked, case_id) == []
    with services(linked.casework).db.session() as db:
        assert db.get(Case, case_id).readers_tag is None  # type: ignore[union-attr]
        sealed = list(db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.origin == "casework")))
    assert not _opens_any(attacker, sealed)


def test_first_tag_refuses_a_key_outside_the_readers_the_report_lists(
        linked: Linked) -> None:
    """When the sealed report lists the readers intake sealed it to, a user key outside
    that list is refused at the first tag (the domain function itself)."""
    from casework.readers import ReadersTampered, establish_tag, report_content_key

    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    _plant_attacker(linked, case_id)
    eva = linked.staff["eva"].key
    assert eva is not None
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        with pytest.raises(ReadersTampered):
            establish_tag(db, case, report_content_key(case, eva),
                          {"recipient_key_ids": [eva.public_key.key_id_hex]})
        assert case.readers_tag is None


def test_appended_attacker_key_gets_no_reply(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    eva.get(f"/cases/{case_id}")
    token = csrf(eva, "/cases/")
    attacker = _plant_attacker(linked, case_id)
    response = eva.post(f"/cases/{case_id}/reply",
                        data={"csrf_token": token, "reply-text": "Which year?"})
    assert response.status_code == 409
    with services(linked.casework).db.session() as db:
        replies = list(db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.author_id.is_not(None))))
    assert replies == [] and not _opens_any(attacker, replies)


def test_swapped_tipster_key_gets_no_reply(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    eva.get(f"/cases/{case_id}")
    token = csrf(eva, "/cases/")
    attacker = crypto.PrivateKey.generate()
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        case.tipster_public_key = attacker.public_key.raw
    response = eva.post(f"/cases/{case_id}/reply",
                        data={"csrf_token": token, "reply-text": "Which year?"})
    assert response.status_code == 409


def test_the_refusal_is_logged_without_content(linked: Linked,
                                               caplog: pytest.LogCaptureFixture) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    eva = _reviewer(linked, "eva")
    eva.get(f"/cases/{case_id}")
    token = csrf(eva, "/cases/")
    _plant_attacker(linked, case_id)
    eva.post(f"/cases/{case_id}/notes", data={"csrf_token": token,
                                              "note-text": "MARKER-7781 interview"})
    assert "does not match its tag" in caplog.text and "MARKER-7781" not in caplog.text


def test_a_legitimate_assignment_keeps_notes_working(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="corruption")
    linked.sync()
    case_id = _case_id(linked)
    lena = _reviewer(linked, "lena")
    page = lena.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Anna" in page
    with services(linked.casework).db.session() as db:
        nils_key = crypto.PrivateKey.generate().public_key.raw
        nils = User(username="nils", display_name="Nils", password_hash="x",
                    public_key=nils_key, approved_public_key=nils_key)
        nils.memberships.append(Membership(unit_id="akt", role=Role.REVIEWER.value))
        db.add(nils)
        db.flush()
        nils_id = nils.id
    lena.post(f"/cases/{case_id}/assign", data={"csrf_token": csrf(lena, f"/cases/{case_id}"),
                                                "person": nils_id})
    response = lena.post(f"/cases/{case_id}/notes",
                         data={"csrf_token": csrf(lena, f"/cases/{case_id}"),
                               "note-text": "Given to Nils."})
    assert response.status_code == 302
    assert len(_notes(linked, case_id)) == 1
