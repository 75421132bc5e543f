"""Write access to the casework database alone must not get anyone sealed a new item:
the reader list is tagged under the report's content key and checked before sealing."""

from __future__ import annotations

import secrets

import pytest
from flask.testing import FlaskClient
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


def _forge_report_header(linked: Linked, case_id: str, key: crypto.PublicKey) -> None:
    """Append a forged entry for ``key`` to the stored header of the case's report."""
    with services(linked.casework).db.session() as db:
        report = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                       CaseEnvelope.kind == "report")).one()
        report.header = _append_forged_entry(report.header, key)


def _plant_attacker(linked: Linked, case_id: str) -> crypto.PrivateKey:
    """The database attacker: a user row with their key, appended to the report header."""
    attacker = crypto.PrivateKey.generate()
    with services(linked.casework).db.session() as db:
        user = User(username="mallory", display_name="Mallory", password_hash="x",
                    public_key=attacker.public_key.raw)
        user.memberships.append(Membership(unit_id="etik", role=Role.REVIEWER.value))
        db.add(user)
    _forge_report_header(linked, case_id, attacker.public_key)
    return attacker


def _new_case(linked: Linked, category: str = "ethics", **fields: object) -> str:
    """A report submitted to intake and synced to casework; its case id."""
    submit(linked.intake.test_client(), category=category, **fields)
    linked.sync()
    return _case_id(linked)


def _opened(linked: Linked, username: str, case_id: str) -> tuple[FlaskClient, str]:
    """A reviewer signed in who has opened the case (which tags its reader list); the
    client and a CSRF token."""
    client = _reviewer(linked, username)
    assert client.get(f"/cases/{case_id}").status_code == 200
    return client, csrf(client, "/cases/")


def _notes(linked: Linked, case_id: str) -> list[CaseEnvelope]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                          CaseEnvelope.kind == "note")))


def _sealed_by_casework(linked: Linked, case_id: str) -> list[CaseEnvelope]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.origin == "casework")))


def _opens_any(key: crypto.PrivateKey, envelopes: list[CaseEnvelope]) -> bool:
    for envelope in envelopes:
        try:
            crypto.open_content_key(envelope.header, key)
        except crypto.DecryptionError:
            continue
        return True
    return False


def test_appended_attacker_key_gets_no_new_note(linked: Linked) -> None:
    case_id = _new_case(linked)
    eva, token = _opened(linked, "eva", case_id)  # the list gets its tag
    attacker = _plant_attacker(linked, case_id)
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": token, "note-text": "Interview the head of unit."})
    assert response.status_code == 409  # refused: the list does not match its tag
    assert _notes(linked, case_id) == []
    assert not _opens_any(attacker, _sealed_by_casework(linked, case_id))  # nor the ack


def test_appended_excluded_reviewer_key_before_anyone_opened_gets_no_note(
        linked: Linked) -> None:
    """Before the first reader opens the case there is no tag yet (trust on first use);
    the first tag is refused if the header holds a key the tipster excluded."""
    erik_key = linked.staff["erik"].key
    assert erik_key is not None
    case_id = _new_case(linked, excluded=[erik_key.public_key.key_id_hex])
    _forge_report_header(linked, case_id, erik_key.public_key)
    eva = _reviewer(linked, "eva")
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": csrf(eva, "/cases/"), "note-text": "Hello."})
    assert response.status_code == 409
    assert _notes(linked, case_id) == []


def test_appended_attacker_key_before_anyone_opened_gets_no_note(linked: Linked) -> None:
    """No trust on first use: intake lists the readers inside the sealed report, so a key
    appended before the first reader opens the case is refused at the first tag."""
    case_id = _new_case(linked)
    attacker = _plant_attacker(linked, case_id)
    eva = _reviewer(linked, "eva")
    eva.get(f"/cases/{case_id}")  # reading is unharmed; the list is just not tagged
    response = eva.post(f"/cases/{case_id}/notes",
                        data={"csrf_token": csrf(eva, "/cases/"), "note-text": "Hello."})
    assert response.status_code == 409
    assert _notes(linked, case_id) == []
    with services(linked.casework).db.session() as db:
        assert db.get(Case, case_id).readers_tag is None  # type: ignore[union-attr]
    assert not _opens_any(attacker, _sealed_by_casework(linked, case_id))


def test_first_tag_refuses_a_key_outside_the_readers_the_report_lists(
        linked: Linked) -> None:
    """When the sealed report lists the readers intake sealed it to, a user key outside
    that list is refused at the first tag (the domain function itself)."""
    from casework.readers import ReadersTampered, establish_tag, report_content_key

    case_id = _new_case(linked)
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
    case_id = _new_case(linked)
    eva, token = _opened(linked, "eva", case_id)
    attacker = _plant_attacker(linked, case_id)
    response = eva.post(f"/cases/{case_id}/reply",
                        data={"csrf_token": token, "reply-text": "Which year?"})
    assert response.status_code == 409
    with services(linked.casework).db.session() as db:
        replies = list(db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.author_id.is_not(None))))
    assert replies == [] and not _opens_any(attacker, replies)


def test_swapped_tipster_key_gets_no_reply(linked: Linked) -> None:
    case_id = _new_case(linked)
    eva, token = _opened(linked, "eva", case_id)
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
    case_id = _new_case(linked)
    eva, token = _opened(linked, "eva", case_id)
    _plant_attacker(linked, case_id)
    eva.post(f"/cases/{case_id}/notes", data={"csrf_token": token,
                                              "note-text": "MARKER-7781 interview"})
    assert "does not match its tag" in caplog.text and "MARKER-7781" not in caplog.text


def test_a_legitimate_assignment_keeps_notes_working(linked: Linked) -> None:
    case_id = _new_case(linked, "corruption")
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
