"""Escalation to another unit or KOF, and referral to an external authority: who reads
afterwards, what is recorded, what the tipster is told, and every refusal changing
nothing (a race of two leads included)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import crypto
from casework.assignment import assign
from casework.errors import CaseworkError, InvalidInput
from casework.escalation import escalate, refer
from casework.models import Case, Escalation, Role
from intake.models import StoredEnvelope
from tests.intake.conftest import submit
from tests.support.casework import Staff

from .conftest import services
from .handling_support import (
    ZERO,
    bodies,
    call,
    client,
    holds,
    kinds,
    readable_items,
    report,
    state,
    token,
    user_id,
)
from .linked import Linked

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


def _escalate(linked: Linked, name: str, case_id: str, **fields: str) -> int:
    lead = client(linked, name)
    data = {"escalate-csrf_token": token(lead), **{f"escalate-{k}": v for k, v in fields.items()}}
    return lead.post(f"/cases/{case_id}/escalate", data=data).status_code


def _refer(linked: Linked, name: str, case_id: str, **fields: str) -> int:
    lead = client(linked, name)
    data = {"refer-csrf_token": token(lead), **{f"refer-{k}": v for k, v in fields.items()}}
    return lead.post(f"/cases/{case_id}/refer", data=data).status_code


def test_escalation_opens_every_item_but_the_identity_to_the_receiving_unit(
        linked: Linked) -> None:
    case_id = report(linked, identity="confidential", name="Karin Berg",
                     contact="karin@example.org")
    lena = client(linked, "lena")
    lena.post(f"/cases/{case_id}/notes", data={"csrf_token": token(lena),
                                               "note-text": "Checked the invoices."})
    before = bodies(linked, case_id)
    assert client(linked, "eva").get(f"/cases/{case_id}").status_code == 403
    assert _escalate(linked, "lena", case_id, unit="etik", reason_code="competence",
                     reason_text=XSS) == 302
    # Bodies untouched, byte for byte; every envelope but the identity opens for Eva.
    after = bodies(linked, case_id)
    assert {k: after[k] for k in before} == before
    everything = kinds(linked, case_id)
    opened = readable_items(linked, "eva", case_id)
    assert "identity" in everything.values()
    assert set(opened) == {e for e, kind in everything.items() if kind != "identity"}
    page = client(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Kickbacks on road contracts" in page and "Checked the invoices." in page
    assert "<script>alert(1)" not in page  # the sealed reason is escaped wherever shown
    assert "LY-" in client(linked, "eva").get("/cases/").get_data(as_text=True)
    with services(linked.casework).db.session() as db:
        row = db.scalars(select(Escalation).where(Escalation.case_id == case_id)).one()
        assert (row.kind, row.destination, row.reason_code) == ("unit", "etik", "competence")
        assert row.reason_envelope_id is not None and XSS not in repr(row.__dict__)
    # Eva (a new reader) can seal a note: the reader list was re-tagged with her in it.
    eva = client(linked, "eva")
    assert eva.post(f"/cases/{case_id}/notes", data={
        "csrf_token": token(eva), "note-text": "Etik has it."}).status_code == 302


def test_escalation_never_adds_a_person_the_tipster_excluded(linked: Linked) -> None:
    case_id = report(linked, exclude=("erik",))
    call(linked, "lena", escalate, case_id, "etik", "seriousness", "")
    assert holds(linked, case_id, "eva") and not holds(linked, case_id, "erik")
    assert client(linked, "erik").get(f"/cases/{case_id}").status_code == 403
    assert "LY-" not in client(linked, "erik").get("/cases/").get_data(as_text=True)


def test_escalation_to_kof_is_of_kind_kof(linked: Linked, enrol: Callable[..., Staff]) -> None:
    linked.staff["kalle"] = enrol("kalle", Role.REVIEWER, "kof")
    case_id = report(linked)
    assert call(linked, "lena", escalate, case_id, "kof", "seriousness", "Grave.") == 1
    with services(linked.casework).db.session() as db:
        row = db.scalars(select(Escalation).where(Escalation.case_id == case_id)).one()
        assert (row.kind, row.destination) == ("kof", "kof")
    assert client(linked, "kalle").get(f"/cases/{case_id}").status_code == 200


@pytest.mark.parametrize(("fields", "status"), [
    ({"unit": "akt", "reason_code": "competence"}, 400),  # the case's own unit
    ({"unit": "nowhere", "reason_code": "competence"}, 400),  # an unknown unit
    ({"unit": "etik", "reason_code": "within-scope"}, 400),  # not an escalation reason
    ({"unit": "etik", "reason_code": "competence", "reason_text": "x" * 5000}, 400),
    ({"unit": "kof", "reason_code": "competence"}, 400),  # KOF has no reader here
    ({"unit": "etik"}, 400),  # no reason code
])
def test_a_refused_escalation_changes_nothing(linked: Linked, fields: dict[str, str],
                                              status: int) -> None:
    case_id = report(linked)
    before = state(linked, case_id)
    assert _escalate(linked, "lena", case_id, **fields) == status
    assert state(linked, case_id) == before


def test_escalating_twice_to_the_same_unit_is_refused(linked: Linked) -> None:
    case_id = report(linked)
    call(linked, "lena", escalate, case_id, "etik", "competence", "")
    before = state(linked, case_id)
    with pytest.raises(InvalidInput):
        call(linked, "lena", escalate, case_id, "etik", "competence", "")
    assert _escalate(linked, "lena", case_id, unit="etik", reason_code="competence") == 400
    assert state(linked, case_id) == before


def test_wrong_role_wrong_unit_forged_ids_csrf_and_json_change_nothing(
        linked: Linked, enrol: Callable[..., Staff]) -> None:
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    case_id = report(linked)
    before = state(linked, case_id)
    fields = {"unit": "etik", "reason_code": "competence"}
    assert _escalate(linked, "anna", case_id, **fields) == 403  # a reviewer
    assert _escalate(linked, "lars", case_id, **fields) == 403  # another unit's lead
    assert _escalate(linked, "lena", ZERO, **fields) == 403  # no such case
    assert _refer(linked, "anna", case_id, authority="jo", reason_code="competence") == 403
    assert _refer(linked, "lars", case_id, authority="jo", reason_code="competence") == 403
    lena = client(linked, "lena")
    assert lena.post(f"/cases/{case_id}/escalate", data={
        f"escalate-{k}": v for k, v in fields.items()}).status_code == 400  # no CSRF
    assert lena.post(f"/cases/{case_id}/escalate", json=fields).status_code in (400, 415)
    assert lena.post(f"/cases/{case_id}/refer", json={"authority": "jo"}).status_code \
        in (400, 415)
    assert lena.post(f"/cases/{case_id}/escalate", data={
        "escalate-csrf_token": token(lena), "escalate-unit": (io.BytesIO(b"etik"), "u.txt"),
        "escalate-reason_code": "competence"},
        content_type="multipart/form-data").status_code in (400, 413, 415)
    assert state(linked, case_id) == before


def test_a_lead_escalated_to_reads_but_may_not_escalate_further(linked: Linked,
                                                                enrol: Callable[..., Staff]
                                                                ) -> None:
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    linked.staff["kalle"] = enrol("kalle", Role.REVIEWER, "kof")
    case_id = report(linked)
    call(linked, "lena", escalate, case_id, "etik", "competence", "")
    assert client(linked, "lars").get(f"/cases/{case_id}").status_code == 200
    assert _escalate(linked, "lars", case_id, unit="kof", reason_code="competence") == 403


def test_two_leads_escalating_at_once_end_with_one_escalation(
        linked: Linked, enrol: Callable[..., Staff]) -> None:
    """Real threads on real SQLite: one escalation, the other a clean 4xx/409, and a
    header every receiving reader is in (no lost update)."""
    linked.staff["lisa"] = enrol("lisa", Role.UNIT_LEAD, "akt")
    case_id = report(linked)
    call(linked, "lena", assign, case_id, user_id(linked, "lisa"))
    barrier = threading.Barrier(2)

    def run(name: str) -> object:
        barrier.wait()
        try:
            return call(linked, name, escalate, case_id, "etik", "competence", "")
        except CaseworkError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["lena", "lisa"]))
    assert sorted(isinstance(r, int) for r in results) == [False, True], results
    refused = next(r for r in results if isinstance(r, CaseworkError))
    assert 400 <= refused.status < 500
    with services(linked.casework).db.session() as db:
        assert len(db.scalars(select(Escalation)).all()) == 1
    assert holds(linked, case_id, "eva") and holds(linked, case_id, "erik")
    assert set(readable_items(linked, "eva", case_id)) == {
        e for e, kind in kinds(linked, case_id).items() if kind != "identity"}


def test_referral_is_recorded_and_the_tipster_is_told_in_plain_language(
        linked: Linked, argon2_params: crypto.Argon2Params) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="corruption", what="Bribes for permits")
    linked.sync()
    with services(linked.casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    assert _refer(linked, "lena", case_id, authority="jo", reason_code="criminal-suspicion",
                  reason_text="Sent to JO by post.") == 302
    with services(linked.casework).db.session() as db:
        row = db.scalars(select(Escalation).where(Escalation.case_id == case_id)).one()
        assert (row.kind, row.destination, row.reason_code) == (
            "referral", "jo", "criminal-suspicion")
        assert row.at is not None and row.reason_envelope_id is not None
    before = state(linked, case_id)
    assert _refer(linked, "lena", case_id, authority="jo", reason_code="competence") == 400
    assert _refer(linked, "lena", case_id, authority="fbi", reason_code="competence") == 400
    with pytest.raises(InvalidInput):
        call(linked, "lena", refer, case_id, "fbi", "competence", "")
    assert state(linked, case_id) == before
    linked.sync()
    # At intake, the status is sealed to the tipster key: it names JO in both languages
    # and carries no reviewer's words.
    tipster_key = crypto.derive_receipt_keys(receipt, b"t" * 16, argon2_params).tipster_key
    intake = linked.intake.extensions["lykta.intake"]
    found = []
    with intake.db.session() as db:
        for envelope in db.scalars(select(StoredEnvelope)):
            try:
                out = io.BytesIO()
                with intake.store.open(envelope.id) as body:
                    crypto.open_stream(envelope.header, body, out, tipster_key)
            except crypto.CryptoError:
                continue
            document = json.loads(out.getvalue())
            if document.get("referred_to"):
                found.append(document)
    assert len(found) == 1
    assert found[0]["referred_to"] == "jo" and found[0]["type"] == "status"
    assert "Justitieombudsmannen" in found[0]["referred_to_name"]["sv"]
    assert "Ombudsm" in found[0]["referred_to_name"]["en"]
    assert "Sent to JO by post." not in json.dumps(found[0])

