"""A compromised intake server as the adversary: it holds intake's signing key, its
database and its storage, and signs whatever it likes. Casework must trust it for
delivery only (threat-model.md, "A compromised intake server").

Item-level attacks write forged rows and bodies into intake's own database and store (what
such an attacker controls) and let the real, signed bridge carry them. Answer-level attacks
run a fake sync server that signs crafted answers with intake's real key.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, request
from sqlalchemy import func, select

import crypto
from casework.bridge import BridgeError, IntakeClient, imports, run_cycle
from casework.models import Case, CaseEnvelope, Stage
from common.serve import build_server
from intake.models import ReceiptRecord, StoredEnvelope
from intake.sealing import readers_with_escrow, seal_json, store_sealed
from intake.services import Intake
from tests.casework.conftest import services
from tests.intake.conftest import submit

from .conftest import Bridged

MARKER = "forged-content-marker"


def _intake(b: Bridged) -> Intake:
    found: Intake = b.linked.intake.extensions["lykta.intake"]
    return found


def _forge(b: Bridged, receipt_id: str, kind: str, *, routing: dict[str, str] | None = None,
           payload: dict[str, Any] | None = None) -> str:
    """Seal an item as only a compromised intake would, into intake's own outbox.

    Reviewer public keys are public (the directory lists them), so the attacker can seal
    anything to them, with any routing and any claimed author.
    """
    intake = _intake(b)
    readers = [p.public_key for p in intake.directory.all_reviewers()]
    with intake.db.session() as session:
        envelope_id = seal_json(
            session, intake.store, receipt_id=receipt_id, audience="casework", kind=kind,
            recipients=readers_with_escrow(readers, intake.directory.escrow),
            routing=routing,
            payload=payload or {"type": kind, "author": "reviewer", "text": MARKER})
    return envelope_id


def _new_receipt(b: Bridged, unit_id: str = "etik") -> str:
    """A receipt row of the attacker's making (no tipster behind it)."""
    with _intake(b).db.session() as session:
        record = ReceiptRecord(lookup_token=secrets.token_bytes(32),
                               tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                               kdf="{}", unit_id=unit_id, recipient_key_ids="[]")
        session.add(record)
        session.flush()
        return record.id


def _first_receipt(b: Bridged) -> str:
    with _intake(b).db.session() as session:
        return str(session.scalars(select(ReceiptRecord.id)).first())


def _waiting(b: Bridged) -> set[str]:
    with _intake(b).db.session() as session:
        return set(session.scalars(select(StoredEnvelope.id).where(
            StoredEnvelope.audience == "casework")))


def _rows(b: Bridged, **where: object) -> list[CaseEnvelope]:
    with services(b.linked.casework).db.session() as session:
        query = select(CaseEnvelope)
        for name, value in where.items():
            query = query.where(getattr(CaseEnvelope, name) == value)
        return list(session.scalars(query))


def _cases(b: Bridged) -> int:
    with services(b.linked.casework).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def reported(bridged: Bridged) -> Bridged:
    """One genuine report, imported into a case."""
    submit(bridged.linked.intake.test_client(), category="ethics")
    bridged.cycle()
    assert _cases(bridged) == 1
    return bridged


# --- Forged kinds ----------------------------------------------------------------------


def test_a_compromised_intake_cannot_forge_an_internal_note(
        reported: Bridged, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    forged = _forge(reported, _first_receipt(reported), "note")
    reported.cycle()
    assert _rows(reported, kind="note") == []
    assert forged not in _waiting(reported)  # refused and acknowledged: it cannot loop
    assert "a kind that only casework creates" in caplog.text
    assert MARKER not in caplog.text


@pytest.mark.parametrize("kind", ["status", "reply", "own-message", "decision"])
def test_a_compromised_intake_cannot_send_any_kind_but_the_tipsters(
        reported: Bridged, kind: str) -> None:
    forged = _forge(reported, _first_receipt(reported), kind)
    reported.cycle()
    assert _rows(reported, id=forged) == []
    assert forged not in _waiting(reported)


def test_a_forged_reviewer_reply_from_intake_is_imported_only_as_the_tipsters(
        reported: Bridged) -> None:
    forged = _forge(reported, _first_receipt(reported), "message",
                    payload={"type": "message", "author": "reviewer", "text": MARKER,
                             "stage": Stage.CONCLUDED.value})
    reported.cycle()
    [row] = _rows(reported, id=forged)
    # Shown as the tipster's whatever the sealed payload claims: no staff author, and the
    # origin that the case view keys on.
    assert (row.kind, row.origin, row.author_id) == ("message", "intake", None)
    with services(reported.linked.casework).db.session() as session:
        assert session.scalars(select(Case)).one().stage == Stage.ACKNOWLEDGED.value


def test_a_compromised_intake_can_inject_a_fake_new_report_filed_as_a_tipsters(
        bridged: Bridged) -> None:
    # What it CAN do (threat-model.md): anyone can submit a fake report through the public
    # form anyway; the forged one gets no more standing than an anonymous report.
    forged = _forge(bridged, _new_receipt(bridged), "report",
                    routing={"category": "ethics", "unit": "etik"})
    bridged.cycle()
    [row] = _rows(bridged, id=forged)
    assert (row.kind, row.origin, row.author_id) == ("report", "intake", None)
    assert _cases(bridged) == 1


# --- Routing, categories, units, keys ----------------------------------------------------


def test_routing_in_the_body_that_disagrees_with_the_declared_kind_is_refused(
        reported: Bridged) -> None:
    # Declared "message" (allowed) but the sealed body's routing says "note": a reader
    # opening it would be told it is a note.
    forged = _forge(reported, _first_receipt(reported), "message", routing={"kind": "note"})
    reported.cycle()
    assert _rows(reported, id=forged) == [] and forged not in _waiting(reported)


def test_a_second_report_for_a_receipt_that_has_a_case_is_refused(reported: Bridged) -> None:
    with services(reported.linked.casework).db.session() as session:
        session.scalars(select(Case)).one().stage = Stage.INVESTIGATING.value
    forged = _forge(reported, _first_receipt(reported), "report",
                    routing={"category": "ethics", "unit": "etik"})
    reported.cycle()
    assert _rows(reported, id=forged) == [] and forged not in _waiting(reported)
    assert len(_rows(reported, kind="report")) == 1
    # No second automatic acknowledgement, and the stage was not reset.
    assert len(_rows(reported, kind="message", origin="casework")) == 1
    with services(reported.linked.casework).db.session() as session:
        assert session.scalars(select(Case)).one().stage == Stage.INVESTIGATING.value


def test_a_second_identity_for_a_case_is_refused(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics", identity="confidential",
           name="Real Name", contact="real@example.org")
    bridged.cycle()
    # Marked as custody, so that only the one-per-case rule can refuse it.
    forged = _forge(bridged, _first_receipt(bridged), "identity", routing={"layer": "custody"},
                    payload={"name": "Someone Else", "contact": "attacker@example.org"})
    bridged.cycle()
    assert _rows(bridged, id=forged) == [] and len(_rows(bridged, kind="identity")) == 1


def test_an_identity_not_sealed_in_custody_is_refused(bridged: Bridged) -> None:
    """Sealed in one layer to the readers, an identity would open without a custodian."""
    submit(bridged.linked.intake.test_client(), category="ethics")
    bridged.cycle()
    forged = _forge(bridged, _first_receipt(bridged), "identity",
                    payload={"name": "Someone Else", "contact": "attacker@example.org"})
    bridged.cycle()
    assert _rows(bridged, id=forged) == [] and _rows(bridged, kind="identity") == []


def test_a_report_with_a_category_outside_the_fixed_list_is_refused(bridged: Bridged) -> None:
    receipt = _new_receipt(bridged)
    forged = _forge(bridged, receipt, "report",
                    routing={"category": "<script>", "unit": "etik"})
    bridged.cycle()
    assert _cases(bridged) == 0 and forged not in _waiting(bridged)


def test_a_report_whose_routing_names_another_unit_than_declared_is_refused(
        bridged: Bridged) -> None:
    forged = _forge(bridged, _new_receipt(bridged, "etik"), "report",
                    routing={"category": "ethics", "unit": "akt"})
    bridged.cycle()
    assert _cases(bridged) == 0 and forged not in _waiting(bridged)


def test_a_report_for_a_unit_that_does_not_exist_is_refused_not_a_crash(
        bridged: Bridged) -> None:
    forged = _forge(bridged, _new_receipt(bridged, "nowhere"), "report",
                    routing={"category": "ethics", "unit": "nowhere"})
    genuine = submit(bridged.linked.intake.test_client(), category="ethics")
    assert genuine
    bridged.cycle()  # the genuine report still comes through
    assert _cases(bridged) == 1 and forged not in _waiting(bridged)


def test_a_report_for_a_unit_that_takes_no_reports_waits_at_intake(bridged: Bridged) -> None:
    held = _forge(bridged, _new_receipt(bridged, "kof"), "report",
                  routing={"category": "ethics", "unit": "kof"})
    bridged.cycle()
    bridged.cycle()
    assert _cases(bridged) == 0 and held in _waiting(bridged)


def test_a_tipster_key_that_changes_between_items_of_one_receipt_is_refused(
        reported: Bridged) -> None:
    receipt = _first_receipt(reported)
    with _intake(reported).db.session() as session:
        record = session.get(ReceiptRecord, receipt)
        assert record is not None
        record.tipster_public_key = crypto.PrivateKey.generate().public_key.raw
    forged = _forge(reported, receipt, "message",
                    payload={"type": "message", "author": "tipster", "text": MARKER})
    reported.cycle()
    assert _rows(reported, id=forged) == [] and forged not in _waiting(reported)


def test_a_new_receipt_reusing_another_cases_tipster_key_is_refused(reported: Bridged) -> None:
    with _intake(reported).db.session() as session:
        original = session.get(ReceiptRecord, _first_receipt(reported))
        assert original is not None
        key = original.tipster_public_key
    receipt = _new_receipt(reported)
    with _intake(reported).db.session() as session:
        # Not allowed by intake's own unique constraint: the attacker moves the original.
        row = session.get(ReceiptRecord, original.id)
        assert row is not None
        row.tipster_public_key = secrets.token_bytes(32)
        session.flush()
        copy = session.get(ReceiptRecord, receipt)
        assert copy is not None
        copy.tipster_public_key = key
    _forge(reported, receipt, "report", routing={"category": "ethics", "unit": "etik"})
    reported.cycle()
    assert _cases(reported) == 1


def test_an_envelope_replayed_under_another_receipt_is_refused(bridged: Bridged) -> None:
    client = bridged.linked.intake.test_client()
    submit(client, category="ethics")
    intake = _intake(bridged)
    with intake.db.session() as session:
        report = session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.kind == "report")).one()
        header, first_receipt = report.header, report.receipt_id
    body = (intake.store.root / report.id).read_bytes()
    bridged.cycle()  # imported; intake deletes its copy, the attacker kept one
    second = _new_receipt(bridged)
    _forge(bridged, second, "report", routing={"category": "ethics", "unit": "etik"})
    bridged.cycle()
    assert _cases(bridged) == 2
    with intake.db.session() as session:
        store_sealed(session, intake.store, receipt_id=second, audience="casework",
                     kind="file", envelope_id=report.id, header=header, body=body)
    bridged.cycle()
    assert [row.kind for row in _rows(bridged, id=report.id)] == ["report"]
    with services(bridged.linked.casework).db.session() as session:
        owner = session.get(Case, _rows(bridged, id=report.id)[0].case_id)
        assert owner is not None and owner.intake_receipt_id == first_receipt
    assert report.id not in _waiting(bridged)


def test_an_oversized_report_body_is_refused(bridged: Bridged,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics")
    monkeypatch.setattr(imports, "MAX_DOCUMENT_BODY", 100)
    bridged.cycle()
    assert _cases(bridged) == 0 and _waiting(bridged) == set()


def test_refusals_are_logged_by_reason_never_by_content(
        reported: Bridged, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _forge(reported, _first_receipt(reported), "report",
           routing={"category": MARKER, "unit": MARKER})
    reported.cycle()
    assert "refused an envelope from intake" in caplog.text
    assert MARKER not in caplog.text


# --- Answers signed by intake's key, crafted by the attacker -------------------------------


@dataclass
class EvilIntake:
    """A sync server holding intake's real signing key and answering whatever it likes."""

    url: str
    answers: dict[str, Callable[[dict[str, Any]], bytes | Response]] = field(
        default_factory=dict)


@pytest.fixture
def evil(bridged: Bridged) -> Iterator[EvilIntake]:
    app = Flask("evil-intake")
    evil = EvilIntake("")
    replay = crypto.MemoryReplayCache(max_entries=1000)

    @app.post("/v1/<purpose>")
    def answer(purpose: str) -> Response:
        message = crypto.verify_message(bridged.linked.signing.verify_key, request.get_data(),
                                        purpose=purpose, replay_cache=replay)
        body = evil.answers[purpose](json.loads(message.body))
        if isinstance(body, Response):
            return body
        return Response(crypto.sign_message(bridged.intake_key, purpose=f"{purpose}-response",
                                            body=body, in_reply_to=message.nonce))

    server = build_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    evil.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield evil
    finally:
        server.shutdown()


def _client(b: Bridged, evil: EvilIntake) -> IntakeClient:
    return IntakeClient(evil.url, b.linked.signing, b.intake_key.verify_key)


ITEM = {"envelope_id": "a" * 32, "receipt_id": "b" * 32, "kind": "report",
        "header": base64.b64encode(b"h").decode(), "body_size": 1,
        "tipster_public_key": base64.b64encode(b"\xcc" * 32).decode(), "unit_id": "etik"}
MALFORMED_PULLS = [b"[]", b"null", b'"items"', b"{}", b'{"items": {}}', b'{"items": 5}',
                   b'{"items": [], "more": 1}', b"[" * 50_000, b"\xff", b'{"items": NaN}']


@pytest.mark.parametrize("answer", MALFORMED_PULLS)
def test_a_malformed_pull_answer_is_a_bridge_error_not_a_crash(
        bridged: Bridged, evil: EvilIntake, answer: bytes) -> None:
    evil.answers["pull"] = lambda _body: answer
    with pytest.raises(BridgeError, match="malformed"):
        run_cycle(services(bridged.linked.casework), _client(bridged, evil))


def test_more_items_than_asked_for_are_refused_whole(bridged: Bridged,
                                                     evil: EvilIntake) -> None:
    evil.answers["pull"] = lambda body: json.dumps(
        {"items": [ITEM] * (body["batch"] + 1)}).encode()
    with pytest.raises(BridgeError, match="items for a batch"):
        run_cycle(services(bridged.linked.casework), _client(bridged, evil), batch=5)


@pytest.mark.parametrize("change", [
    {"header": "!!"}, {"envelope_id": "A" * 32}, {"envelope_id": "a" * 32 + "\n"},
    {"tipster_public_key": base64.b64encode(b"\xcc" * 31).decode()},
    {"tipster_public_key": "cc" * 32}, {"body_size": -1}, {"kind": ["report"]}, {"unit_id": ""},
    {"extra": 1}])
def test_a_malformed_pull_item_is_skipped_and_the_cycle_completes(
        bridged: Bridged, evil: EvilIntake, change: dict[str, object],
        caplog: pytest.LogCaptureFixture) -> None:
    evil.answers["pull"] = lambda _body: json.dumps({"items": [{**ITEM, **change}]}).encode()
    report = run_cycle(services(bridged.linked.casework), _client(bridged, evil))
    assert report.imported == 0 and _cases(bridged) == 0
    assert "skipped a malformed item" in caplog.text


@pytest.mark.parametrize("answer", [b'{"stored": "all", "refused": []}', b'{"stored": []}',
                                    b'{"stored": [1], "refused": []}', b"[]"])
def test_a_malformed_push_answer_is_an_error_and_the_reply_stays_pending(
        reported: Bridged, evil: EvilIntake, answer: bytes) -> None:
    # The reply of the first cycle was delivered; make a new one wait.
    with services(reported.linked.casework).db.session() as session:
        session.scalars(select(CaseEnvelope).where(
            CaseEnvelope.origin == "casework")).one().delivered = False
    evil.answers["pull"] = lambda _body: b'{"items": []}'
    evil.answers["push"] = lambda _body: answer
    with pytest.raises(BridgeError, match="malformed"):
        run_cycle(services(reported.linked.casework), _client(reported, evil))
    assert len(_rows(reported, delivered=False)) == 1


def test_a_push_answer_claiming_ids_never_pushed_marks_nothing_else_delivered(
        reported: Bridged, evil: EvilIntake) -> None:
    with services(reported.linked.casework).db.session() as session:
        session.scalars(select(CaseEnvelope).where(
            CaseEnvelope.origin == "casework")).one().delivered = False
    evil.answers["pull"] = lambda _body: b'{"items": []}'
    evil.answers["push"] = lambda _body: json.dumps(
        {"stored": ["d" * 32], "refused": []}).encode()
    run_cycle(services(reported.linked.casework), _client(reported, evil))
    assert len(_rows(reported, delivered=False)) == 1


@pytest.mark.parametrize("fetch", [
    lambda _body: Response("no such envelope\n", status=404),
    lambda _body: Response(b"body", headers={"Lykta-Signed": "!!"}),
    lambda _body: Response(b"body"),
])
def test_an_unfetchable_item_is_skipped_and_the_cycle_completes(
        bridged: Bridged, evil: EvilIntake,
        fetch: Callable[[dict[str, Any]], Response]) -> None:
    evil.answers["pull"] = lambda _body: json.dumps({"items": [ITEM]}).encode()
    evil.answers["fetch"] = fetch
    report = run_cycle(services(bridged.linked.casework), _client(bridged, evil))
    assert (report.imported, report.acknowledged) == (0, 0) and _cases(bridged) == 0
    assert list(services(bridged.linked.casework).store.incoming_dir.iterdir()) == []
