"""Confidential identities under four eyes (casework.identity): request, decide, tell the
reporter, read; every refusal changes nothing.

One linked intake + casework pair serves the module (each test sends reports of its
own); each person signs in once per module (handling_support.client). akt's readers are
anna (reviewer), lena (lead) and karl (reviewer who is also a custodian); cecilia is the
custodian who reads nothing; nils became a custodian after the directory was published,
so no identity is sealed to him.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import crypto
from casework import CaseworkConfig, create_app
from casework.errors import InvalidInput, NotPermitted
from casework.identity import (
    FourEyes,
    IdentityConflict,
    decide,
    read_identity,
    request_identity,
    withdraw_request,
)
from casework.models import (
    AuditEntry,
    CaseEnvelope,
    IdentityRequest,
    ReporterNotice,
    Role,
    User,
)
from tests.intake.conftest import sign_in, submit
from tests.support.casework import add_default_units, link_intake
from tests.support.casework import enrol as enrol_in
from tests.support.databases import app_database

from .conftest import EnglishClient, services
from .handling_support import call, client, report, token
from .linked import Linked

ZERO = "0" * 32
NAME, CONTACT = "Karin Berg", "karin@example.org"
TOLD, WITHHELD = ReporterNotice.TOLD, ReporterNotice.WITHHELD


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    folder = tmp_path_factory.mktemp("identity")
    escrow = crypto.generate_escrow_key()
    app = create_app(CaseworkConfig(
        instance_path=folder, database_url=app_database("casework", folder),
        secret_key=b"c" * 32, signing_key_path=folder / "casework-signing.seed",
        argon2=crypto.INSECURE_FAST, escrow_public_key=escrow.public_key.raw))
    app.config["TESTING"] = True
    app.test_client_class = EnglishClient
    add_default_units(app)
    staff = {
        "anna": enrol_in(app, "anna", Role.REVIEWER, "akt"),
        "lena": enrol_in(app, "lena", Role.UNIT_LEAD, "akt"),
        "karl": enrol_in(app, "karl", Role.CUSTODIAN, "kof", also=(("akt", Role.REVIEWER),)),
        "cecilia": enrol_in(app, "cecilia", Role.CUSTODIAN, "kof"),
        "eva": enrol_in(app, "eva", Role.REVIEWER, "etik"),
    }
    intake, signing = link_intake(app, folder / "intake", escrow, crypto.INSECURE_FAST)
    intake.config["TESTING"] = True
    intake.test_client_class = EnglishClient  # the reporter's pages read in English here
    # Enrolled after the directory was published: no identity is sealed to his key.
    staff["nils"] = enrol_in(app, "nils", Role.CUSTODIAN, "kof")
    yield Linked(intake, app, staff, escrow, signing)


# --- helpers -------------------------------------------------------------------------


def key(world: Linked, name: str) -> crypto.PrivateKey:
    found = world.staff[name].key
    assert found is not None
    return found


def identity_row(world: Linked, case_id: str) -> tuple[str, bytes, bytes]:
    with services(world.casework).db.session() as db:
        envelope = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "identity")).one()
        with services(world.casework).store.open(envelope.body_name) as body:
            return envelope.body_name, envelope.header, body.read()


def in_custody(world: Linked, case_id: str, *, readers: tuple[str, ...] | None = None,
               custodians: tuple[str, ...] = ("cecilia", "karl")) -> None:
    """Make sure the case's identity is nested as intake seals it (crypto.seal_in_custody).

    Intake seals it so already (then this does nothing) unless ``readers`` asks for an
    inner layer of other readers (a reader who joined after the report).
    """
    name, header, body = identity_row(world, case_id)
    if readers is None:
        try:
            crypto.open_outer(crypto.Envelope(header, body), key(world, custodians[0]))
            return
        except crypto.TamperedEnvelope:
            pass  # a single layer: intake does not nest it yet
    plaintext = json.dumps({"name": NAME, "contact": CONTACT}).encode()
    with services(world.casework).db.session() as db:
        if readers is None:
            report_header = db.scalars(select(CaseEnvelope.header).where(
                CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "report")).one()
            ids = set(crypto.header_key_ids(report_header))
            people = [u for u in db.scalars(select(User)) if u.public_key is not None
                      and crypto.key_id_of(u.public_key) in ids]
        else:
            people = list(db.scalars(select(User).where(User.username.in_(readers))))
        inner = [crypto.PublicKey(u.public_key) for u in people if u.public_key is not None]
    escrow = world.escrow.public_key
    outer = [key(world, n).public_key for n in custodians]
    sealed = crypto.seal_in_custody(plaintext, readers=[*inner, escrow],
                                    custodians=[*outer, escrow])
    store = services(world.casework).store
    incoming, file = store.new_incoming()
    with file:
        file.write(sealed.body)
    store.commit(incoming, name)
    with services(world.casework).db.session() as db:
        envelope = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "identity")).one()
        envelope.header, envelope.body_size = sealed.header, len(sealed.body)


def confidential(world: Linked, **more: Any) -> tuple[str, str]:
    """A confidential corruption report (akt), synced, identity in custody: (case, receipt)."""
    tipster = world.intake.test_client()
    with services(world.casework).db.session() as db:
        before = set(db.scalars(select(CaseEnvelope.case_id)))
    receipt = submit(tipster, category="corruption", what="Kickbacks on road contracts",
                     identity="confidential", name=NAME, contact=CONTACT, **more)
    world.sync()
    with services(world.casework).db.session() as db:
        (case_id,) = set(db.scalars(select(CaseEnvelope.case_id))) - before
    in_custody(world, case_id)
    return case_id, receipt


def ask(world: Linked, name: str, case_id: str, text: str = "We must hear the witness.",
        code: str = "investigation-needs") -> str:
    request_id: str = call(world, name, request_identity, case_id, code, text)
    return request_id


def decided(world: Linked, name: str, request_id: str, *, approve: bool = True,
            notice: ReporterNotice | None = TOLD,
            notice_text: str = "The investigation unit will learn your name.",
            code: str | None = None) -> Any:
    return call(world, name, decide, request_id, approve,
                code or ("investigation-needs" if approve else "not-necessary"),
                "The interview is needed.", notice, notice_text)


def request_row(world: Linked, request_id: str) -> IdentityRequest:
    with services(world.casework).db.session() as db:
        found = db.get(IdentityRequest, request_id)
        assert found is not None
        db.expunge(found)
        return found


def actions(world: Linked, case_id: str) -> list[str]:
    with services(world.casework).db.session() as db:
        return list(db.scalars(select(AuditEntry.action).where(
            AuditEntry.case_id == case_id, AuditEntry.action.like("identity%"))
            .order_by(AuditEntry.seq)))


def snapshot(world: Linked, case_id: str) -> tuple[Any, ...]:
    """What any identity action may change: requests, envelopes (headers), audit entries."""
    with services(world.casework).db.session() as db:
        requests = sorted((r.id, r.status, r.decided_by, r.notice, r.first_read_at)
                          for r in db.scalars(select(IdentityRequest).where(
                              IdentityRequest.case_id == case_id)))
        envelopes = sorted((e.id, e.header, e.delivered) for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)))
        audit = db.scalar(select(func.count()).select_from(AuditEntry))
    return requests, envelopes, audit


def opens(world: Linked, case_id: str, name: str) -> bool:
    _name, header, body = identity_row(world, case_id)
    try:
        crypto.open_in_custody(crypto.Envelope(header, body), key(world, name))
    except crypto.UnknownRecipient:
        return False
    return True


def sealed_to(world: Linked, envelope_id: str | None) -> set[str]:
    assert envelope_id is not None
    with services(world.casework).db.session() as db:
        header = db.scalars(select(CaseEnvelope.header).where(
            CaseEnvelope.id == envelope_id)).one()
        ids = set(crypto.header_key_ids(header))
    return {n for n, s in world.staff.items() if s.key is not None
            and s.key.public_key.key_id in ids} | (
        {"escrow"} if world.escrow.public_key.key_id in ids else set())


# --- the whole way, through the pages --------------------------------------------------


def test_request_approve_tell_sync_read(world: Linked) -> None:
    case_id, receipt = confidential(world)
    anna, cecilia = client(world, "anna"), client(world, "cecilia")
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="identity-request-form"' in page and NAME not in page
    answer = anna.post(f"/cases/{case_id}/identity/requests", data={
        "csrf_token": token(anna), "identity-reason_code": "investigation-needs",
        "identity-reason_text": "The witness <script>alert(1)</script> must be heard."})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Waiting for a custodian" in page and "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page and 'id="identity-request-form"' not in page
    with services(world.casework).db.session() as db:
        request_id = db.scalars(select(IdentityRequest.id).where(
            IdentityRequest.case_id == case_id)).one()
    assert anna.get(f"/identity/requests/{request_id}").status_code == 409  # not approved
    assert 'id="identity-link"' in cecilia.get("/").get_data(as_text=True)
    queue = cecilia.get("/identity/requests/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)" in queue and "<script>alert(1)" not in queue
    assert f'action="/identity/requests/{request_id}/decide"' in queue
    prefix = f"r{request_id}"
    answer = cecilia.post(f"/identity/requests/{request_id}/decide", data={
        "csrf_token": token(cecilia), f"{prefix}-decision": "approve",
        f"{prefix}-decision_code": "investigation-needs",
        f"{prefix}-decision_text": "Needed <b>now</b>.", f"{prefix}-notice": "told",
        f"{prefix}-notice_text": "The anti-corruption team <i>will</i> learn your name."})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    # Told first: nothing to read until the notice has reached intake.
    refused = anna.get(f"/identity/requests/{request_id}")
    assert refused.status_code == 409 and NAME not in refused.get_data(as_text=True)
    assert "waits for the next sync" in anna.get(f"/cases/{case_id}").get_data(as_text=True)
    world.sync()
    shown = anna.get(f"/identity/requests/{request_id}")
    assert shown.status_code == 200
    assert NAME in shown.get_data(as_text=True) and CONTACT in shown.get_data(as_text=True)
    assert request_row(world, request_id).first_read_at is not None
    assert anna.get(f"/identity/requests/{request_id}").status_code == 200
    assert actions(world, case_id) == ["identity_requested", "identity_request_approved",
                                       "identity_read", "identity_read"]
    # The reporter read the notice, under its heading, escaped.
    tipster = world.intake.test_client()
    sign_in(tipster, receipt)
    dialogue = tipster.get("/dialogue").get_data(as_text=True)
    assert "Your identity will be disclosed" in dialogue
    assert "&lt;i&gt;will&lt;/i&gt;" in dialogue and "<i>will</i>" not in dialogue
    # The timeline words every step, and never names the reporter.
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Asked to read the reporter&#39;s identity" in page
    assert "request to read the reporter&#39;s identity" in page and "told first" in page
    assert "Read the reporter&#39;s identity" in page and NAME not in page
    # Lena, another reader, never sees anna's reason or the decision's words.
    assert "must be heard" not in client(world, "lena").get(
        f"/cases/{case_id}").get_data(as_text=True)


def test_the_requester_alone_opens_nothing_until_released(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    # With her key and the whole database: no entry in the outer layer.
    assert not opens(world, case_id, "anna") and not opens(world, case_id, "cecilia")
    decided(world, "cecilia", request_id, approve=False)
    assert not opens(world, case_id, "anna")
    with pytest.raises(IdentityConflict):
        call(world, "anna", read_identity, request_id)
    second = ask(world, "anna", case_id)
    decided(world, "cecilia", second, notice=WITHHELD, notice_text="Telling warns the boss.")
    assert opens(world, case_id, "anna") and not opens(world, case_id, "lena")
    _name, header, body = identity_row(world, case_id)
    assert json.loads(crypto.open_in_custody(crypto.Envelope(header, body), world.escrow))[
        "name"] == NAME  # escrow recovery stays possible


def test_texts_are_sealed_to_the_custodians_and_the_requester_only(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    decided(world, "cecilia", request_id, notice=WITHHELD,
            notice_text="Telling would warn the suspect.")
    row = request_row(world, request_id)
    both = {"anna", "cecilia", "karl", "nils", "escrow"}
    assert sealed_to(world, row.reason_envelope_id) == both
    assert sealed_to(world, row.decision_envelope_id) == both
    assert sealed_to(world, row.notice_envelope_id) == both  # the withheld notice's reason


def test_withheld_notice_reads_at_once_and_tells_no_one(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    world.sync()  # the acknowledgement is out
    request_id = ask(world, "anna", case_id)
    decided(world, "cecilia", request_id, notice=WITHHELD,
            notice_text="Telling would warn the suspect.")
    with services(world.casework).db.session() as db:
        waiting = db.scalar(select(func.count()).select_from(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.delivered.is_(False)))
    assert waiting == 0  # nothing goes to the reporter
    shown = call(world, "anna", read_identity, request_id)
    assert (shown.name, shown.contact) == (NAME, CONTACT)
    assert actions(world, case_id)[-2:] == ["identity_request_approved", "identity_read"]


def test_told_notice_goes_to_the_tipster_and_the_readers(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    decided(world, "cecilia", request_id)
    row = request_row(world, request_id)
    assert {"anna", "lena", "karl", "escrow"} <= sealed_to(world, row.notice_envelope_id)
    assert "cecilia" not in sealed_to(world, row.notice_envelope_id)
    with pytest.raises(IdentityConflict, match="not been told"):
        call(world, "anna", read_identity, request_id)
    world.sync()
    assert call(world, "anna", read_identity, request_id).name == NAME


# --- refusals --------------------------------------------------------------------------


def refused(world: Linked, case_id: str, error: type[Exception], name: str, action: Any,
            *args: Any) -> None:
    before = snapshot(world, case_id)
    with pytest.raises(error):
        call(world, name, action, *args)
    assert snapshot(world, case_id) == before


def test_wrong_role_or_unit(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    refused(world, case_id, NotPermitted, "eva", request_identity, case_id,
            "investigation-needs", "etik reads no akt case")
    refused(world, case_id, NotPermitted, "cecilia", request_identity, case_id,
            "investigation-needs", "a custodian reads no case")
    request_id = ask(world, "anna", case_id)
    refused(world, case_id, NotPermitted, "lena", decide, request_id, True,
            "investigation-needs", "a lead is no custodian", TOLD, "told")
    refused(world, case_id, NotPermitted, "lena", withdraw_request, request_id)
    refused(world, case_id, NotPermitted, "lena", read_identity, request_id)


def test_four_eyes_are_two_people(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    own = ask(world, "karl", case_id)  # karl reads akt and is a custodian
    refused(world, case_id, FourEyes, "karl", decide, own, True, "investigation-needs",
            "my own", TOLD, "told")
    annas = ask(world, "anna", case_id)
    with pytest.raises(FourEyes, match="read this case"):
        decided(world, "karl", annas)
    assert request_row(world, annas).status == "pending"
    page = client(world, "karl").get("/identity/requests/").get_data(as_text=True)
    assert f"/identity/requests/{annas}/decide" not in page
    assert "Another custodian must decide" in page


def test_no_identity_to_request(world: Linked) -> None:
    case_id = report(world, what="Anonymous, no identity")
    refused(world, case_id, IdentityConflict, "anna", request_identity, case_id,
            "investigation-needs", "there is none")
    assert 'id="identity"' not in client(world, "anna").get(
        f"/cases/{case_id}").get_data(as_text=True)


def test_one_pending_request_per_person_and_case(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    first = ask(world, "anna", case_id)
    refused(world, case_id, IdentityConflict, "anna", request_identity, case_id,
            "protection", "again")
    assert ask(world, "lena", case_id)  # someone else may
    call(world, "anna", withdraw_request, first)
    refused(world, case_id, IdentityConflict, "anna", withdraw_request, first)
    refused(world, case_id, IdentityConflict, "cecilia", decide, first, True,
            "investigation-needs", "withdrawn", TOLD, "told")
    assert ask(world, "anna", case_id) != first


def test_decided_once(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    decided(world, "cecilia", request_id, approve=False)
    refused(world, case_id, IdentityConflict, "cecilia", decide, request_id, True,
            "investigation-needs", "changed my mind", TOLD, "told")
    assert actions(world, case_id) == ["identity_requested", "identity_request_refused"]


def test_reasons_and_codes_are_checked(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    for code, text in (("curiosity", "why not"), ("investigation-needs", "  "),
                       ("investigation-needs", "x" * 4001), ("not-necessary", "refusal code")):
        refused(world, case_id, InvalidInput, "anna", request_identity, case_id, code, text)
    request_id = ask(world, "anna", case_id)
    for approve, code, notice, text in ((True, "not-necessary", TOLD, "told"),
                                        (False, "protection", None, ""),
                                        (True, "protection", None, "no notice"),
                                        (True, "protection", TOLD, " "),
                                        (True, "protection", WITHHELD, "y" * 4001)):
        refused(world, case_id, InvalidInput, "cecilia", decide, request_id, approve, code,
                "reason", notice, text)


def test_the_requester_must_hold_the_inner_layer(world: Linked) -> None:
    """A reader who was not among the readers the report was sealed to (one added later
    by an escalation) cannot be released to: the custodian is told, nothing changes."""
    case_id, _receipt = confidential(world)
    in_custody(world, case_id, readers=("anna",))
    request_id = ask(world, "lena", case_id)
    with pytest.raises(IdentityConflict, match="not among the case's readers"):
        decided(world, "cecilia", request_id)
    assert request_row(world, request_id).status == "pending"
    assert not opens(world, case_id, "lena")


def test_a_custodian_the_identity_was_not_sealed_to(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    refused(world, case_id, IdentityConflict, "nils", decide, request_id, True,
            "investigation-needs", "I came later", TOLD, "told")


def test_a_tampered_identity_is_refused(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    name, _header, body = identity_row(world, case_id)
    store = services(world.casework).store
    incoming, file = store.new_incoming()
    with file:
        file.write(body[:-1] + bytes([body[-1] ^ 1]))
    store.commit(incoming, name)
    before = snapshot(world, case_id)
    cecilia = client(world, "cecilia")
    prefix = f"r{request_id}"
    answer = cecilia.post(f"/identity/requests/{request_id}/decide", data={
        "csrf_token": token(cecilia), f"{prefix}-decision": "approve",
        f"{prefix}-decision_code": "investigation-needs", f"{prefix}-decision_text": "ok",
        f"{prefix}-notice": "withheld", f"{prefix}-notice_text": "would warn"})
    assert answer.status_code == 422
    assert snapshot(world, case_id) == before


# --- the pages: tokens, forged ids, hostile input --------------------------------------


def test_pages_refuse_without_changing_anything(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    anna, cecilia = client(world, "anna"), client(world, "cecilia")
    request_id = ask(world, "lena", case_id)
    prefix = f"r{request_id}"
    good = {"csrf_token": token(cecilia), f"{prefix}-decision": "approve",
            f"{prefix}-decision_code": "investigation-needs",
            f"{prefix}-decision_text": "ok", f"{prefix}-notice": "told",
            f"{prefix}-notice_text": "You will be named to the team."}
    ask_form = {"csrf_token": token(anna), "identity-reason_code": "protection",
                "identity-reason_text": "Threats against the reporter."}
    before = snapshot(world, case_id)
    posts: list[tuple[Any, str, dict[str, Any], int]] = [
        (anna, f"/cases/{case_id}/identity/requests",
         {k: v for k, v in ask_form.items() if k != "csrf_token"}, 400),
        (anna, f"/cases/{case_id}/identity/requests",
         {**ask_form, "identity-reason_text": "x" * 5000}, 400),
        (anna, f"/cases/{case_id}/identity/requests",
         {**ask_form, "identity-reason_code": "nosy"}, 400),
        (anna, f"/cases/{ZERO}/identity/requests", ask_form, 403),
        (anna, f"/cases/{'a' * 300}/identity/requests", ask_form, 400),
        (anna, f"/cases/{case_id}/identity/requests",
         {**ask_form, "identity-reason_text": (io.BytesIO(b"file"), "reason.txt")}, 400),
        (anna, f"/identity/requests/{request_id}/withdraw", {"csrf_token": token(anna)}, 403),
        (anna, f"/identity/requests/{ZERO}/withdraw", {"csrf_token": token(anna)}, 403),
        (cecilia, f"/identity/requests/{request_id}/withdraw",
         {"csrf_token": token(cecilia)}, 403),
        (cecilia, f"/identity/requests/{request_id}/decide",
         {k: v for k, v in good.items() if k != "csrf_token"}, 400),
        (cecilia, f"/identity/requests/{request_id}/decide",
         {**good, f"{prefix}-decision": "maybe"}, 400),
        (cecilia, f"/identity/requests/{request_id}/decide",
         {**good, f"{prefix}-notice": "later"}, 400),
        (cecilia, f"/identity/requests/{request_id}/decide",
         {**good, f"{prefix}-notice_text": "x" * 5000}, 400),
        (cecilia, f"/identity/requests/{ZERO}/decide",
         {k.replace(prefix, "r" + ZERO): v for k, v in good.items()}, 403),
        (cecilia, f"/identity/requests/{'b' * 300}/decide", good, 400),
        (anna, f"/identity/requests/{request_id}/decide", {**good, "csrf_token": token(anna)},
         403),
    ]
    for who, path, data, status in posts:
        answer = who.post(path, data=data, content_type="multipart/form-data")
        body = answer.get_data(as_text=True)
        assert answer.status_code == status, (path, data.keys(), answer.status_code, body[:300])
        assert "Traceback" not in body
    # A JSON body where a form is expected; a body that is not UTF-8.
    for path in (f"/cases/{case_id}/identity/requests",
                 f"/identity/requests/{request_id}/decide"):
        who = anna if "cases" in path else cecilia
        assert who.post(path, json={"csrf_token": token(who)}).status_code in (400, 415)
        assert who.post(path, data=b"csrf_token=" + token(who).encode() + b"&x=\xff\xfe",
                        content_type="application/x-www-form-urlencoded").status_code == 400
    assert anna.get(f"/identity/requests/{ZERO}").status_code == 403
    assert anna.get(f"/identity/requests/{request_id}").status_code == 403  # lena's
    assert snapshot(world, case_id) == before


def test_no_custodian_means_requests_wait(world: Linked) -> None:
    with services(world.casework).db.session() as db:
        custodians = [m for u in db.scalars(select(User)) for m in u.memberships
                      if m.role == Role.CUSTODIAN.value]
        for membership in custodians:
            membership.role = Role.STATISTICIAN.value
    try:
        case_id, _receipt = confidential(world)
        page = client(world, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
        assert 'id="identity-no-custodian"' in page
        request_id = ask(world, "anna", case_id)
        assert sealed_to(world, request_row(world, request_id).reason_envelope_id) == {
            "anna", "escrow"}
        assert request_row(world, request_id).status == "pending"
        assert not opens(world, case_id, "anna")
    finally:
        with services(world.casework).db.session() as db:
            for name in ("karl", "cecilia", "nils"):
                person = db.scalars(select(User).where(User.username == name)).one()
                for membership in person.memberships:
                    if membership.unit_id == "kof":
                        membership.role = Role.CUSTODIAN.value


def test_timeline_lines_are_strict() -> None:
    from casework.identity_forms import TIMELINE
    from casework.timeline_text import Malformed, Names
    names = Names(people={"u" * 32: "Anna"}, cases={}, units={}, config=None)  # type: ignore[arg-type]
    with pytest.raises(Malformed):
        TIMELINE["identity_requested"]({"request_id": "a" * 32}, names)
    with pytest.raises(Malformed):
        TIMELINE["identity_read"]({"request_id": "a" * 32, "name": "Karin"}, names)
    with pytest.raises(Malformed):
        TIMELINE["identity_request_approved"]({
            "request_id": "a" * 32, "requester_id": "u" * 32, "decision_code": "other",
            "notice": "maybe"}, names)


def test_first_read_is_kept(world: Linked) -> None:
    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    decided(world, "cecilia", request_id, notice=WITHHELD, notice_text="would warn")
    call(world, "anna", read_identity, request_id)
    first = request_row(world, request_id).first_read_at
    assert isinstance(first, dt.datetime)
    call(world, "anna", read_identity, request_id)
    assert request_row(world, request_id).first_read_at == first


def test_a_declared_conflict_withdraws_requests_and_the_rekey_passes_them_by(
        world: Linked) -> None:
    """The declarer's pending request goes with the declaration; the request's sealed
    reason (custodians and the requester only) does not stop the next reader's rekey."""
    from casework.conflicts import declare_conflict, rekey_case

    case_id, _receipt = confidential(world)
    request_id = ask(world, "anna", case_id)
    call(world, "anna", declare_conflict, case_id, "My sister runs the contractor.")
    assert request_row(world, request_id).status == "withdrawn"
    assert "identity_request_withdrawn" in actions(world, case_id)
    rekeyed = call(world, "lena", rekey_case, case_id)
    assert rekeyed is not None
    with services(world.casework).db.session() as db:
        reason_id = db.get(IdentityRequest, request_id).reason_envelope_id  # type: ignore[union-attr]
    # Left as it was sealed: to the custodians and anna (and escrow), no reader added.
    assert sealed_to(world, reason_id) == {"cecilia", "karl", "nils", "anna", "escrow"}
    assert not opens(world, case_id, "anna")
    with pytest.raises(IdentityConflict):
        decided(world, "cecilia", request_id)
