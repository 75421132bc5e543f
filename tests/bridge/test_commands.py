"""Casework's commands through the bridge: register a receipt, forget a dialogue.

Over the signed HTTP sync (intake's sync app on loopback) and as air-gap bundles; the
tipster's side is intake's public app, signed in with a code derived as intake derives.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from casework.bridge import IntakeClient
from casework.bridge import cycle as cycle_module
from casework.bridge.commands import forget_dialogue, register_receipt
from casework.bridge.imports import new_reference
from casework.models import AuditEntry, Case, IntakeCommand, IntakeCommandKind
from casework.sealing import seal_item
from common.contract import (
    Author,
    CommandItem,
    CommandKind,
    DialogueForget,
    DialogueMessage,
    EnvelopeKind,
    ReceiptRegistration,
)
from common.sync_schema import Malformed
from intake.models import ReceiptRecord, StoredEnvelope
from tests.casework.conftest import services
from tests.intake.conftest import sign_in, submit
from tests.support.databases import checkpoint, stored_bytes

from .conftest import Bridged
from .test_bridge import _post
from .test_bundles import _air_gap, _cli

REPLY = "A question about your call, asked by phone-ZQ81"


def _intake(bridged: Bridged) -> Any:
    return bridged.linked.intake.extensions["lykta.intake"]


def _oral_case(bridged: Bridged, reply: str | None = REPLY) -> tuple[str, str, str]:
    """A case recorded at casework (as an oral report is), its receipt registration
    queued and a reply waiting for the tipster: (code, case id, receipt id)."""
    config = _intake(bridged).config
    code = crypto.generate_receipt()
    keys = crypto.derive_receipt_keys(code, config.instance_salt, config.argon2)
    casework = services(bridged.linked.casework)
    with casework.unit() as unit:
        case = Case(reference=new_reference(), unit_id="etik", category="ethics",
                    received_on=dt.date.today(), intake_receipt_id=secrets.token_hex(16),
                    tipster_public_key=keys.tipster_public_key.raw)
        unit.session.add(case)
        unit.session.flush()
        register_receipt(unit.session, case, lookup_token=keys.lookup_token,
                         params=keys.params, recipient_key_ids=[b"\x01" * 16])
        if reply is not None:
            seal_item(casework, unit.session, case, kind=EnvelopeKind.MESSAGE,
                      document=DialogueMessage(Author.REVIEWER, reply).to_json(),
                      recipients=[keys.tipster_public_key], author_id=None,
                      for_tipster=True)
        return code, case.id, case.intake_receipt_id


def _written_case(bridged: Bridged) -> tuple[FlaskClient, str, str, str]:
    """A report submitted at intake and carried across: (tipster, code, case, receipt)."""
    tipster = bridged.linked.intake.test_client()
    code = submit(tipster, category="ethics", what="Written, then purged")
    bridged.cycle()  # the report crosses; the automatic acknowledgement comes back
    with services(bridged.linked.casework).db.session() as session:
        case = session.scalars(select(Case)).one()
        return tipster, code, case.id, case.intake_receipt_id


def _commands(bridged: Bridged) -> list[IntakeCommand]:
    with services(bridged.linked.casework).db.session() as session:
        rows = list(session.scalars(select(IntakeCommand).order_by(IntakeCommand.created_at)))
        session.expunge_all()
        return rows


def _receipts(bridged: Bridged) -> dict[str, ReceiptRecord]:
    with _intake(bridged).db.session() as session:
        rows = {r.id: r for r in session.scalars(select(ReceiptRecord))}
        session.expunge_all()
        return rows


def _delivered_events(bridged: Bridged) -> list[dict[str, Any]]:
    with services(bridged.linked.casework).db.session() as session:
        return [json.loads(d) for d in session.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "intake_commands_delivered").order_by(AuditEntry.seq))]


def _command_message(bridged: Bridged, body: object,
                     key: crypto.SigningKey | None = None) -> bytes:
    return crypto.sign_message(key or bridged.linked.signing, purpose="command",
                               body=json.dumps(body).encode())


def _registration(receipt_id: str, token: bytes, key: bytes,
                  kdf: dict[str, int] | None = None) -> dict[str, Any]:
    return CommandItem(secrets.token_hex(16), ReceiptRegistration(
        receipt_id, token, key, kdf or {"t": 1, "m": 8, "p": 1}, "etik", ())).to_wire()


# --- The contract --------------------------------------------------------------------


def test_the_contract_names_casework_s_command_kinds() -> None:
    assert {k.value for k in CommandKind} == {k.value for k in IntakeCommandKind}


@pytest.mark.parametrize("change", [
    {"kind": "drop-receipts"}, {"kind": None}, {"id": "../x"}, {"extra": 1},
    {"lookup_token": base64.b64encode(b"x" * 31).decode()},
    {"tipster_public_key": "not base64"}, {"kdf": {"t": 0, "m": 8, "p": 1}},
    {"kdf": {"t": 1, "m": 2**21, "p": 1}}, {"kdf": {"t": 1, "m": 8, "p": 2}},
    {"kdf": {"t": 1, "m": 8}}, {"recipient_key_ids": ["A" * 32]},
    {"recipient_key_ids": ["a" * 32, "a" * 32]}, {"unit_id": ""}, {"receipt_id": 7}])
def test_a_malformed_command_is_refused_by_the_contract(change: dict[str, Any]) -> None:
    good = _registration("a" * 32, b"t" * 32, b"k" * 32)
    assert CommandItem.from_wire(good).command == ReceiptRegistration(
        "a" * 32, b"t" * 32, b"k" * 32, {"t": 1, "m": 8, "p": 1}, "etik", ())
    with pytest.raises(Malformed):
        CommandItem.from_wire({**good, **change})
    forget = {"id": "c" * 32, "kind": "forget-dialogue", "receipt_id": "a" * 32}
    assert CommandItem.from_wire(forget).command == DialogueForget("a" * 32)
    with pytest.raises(Malformed):
        CommandItem.from_wire({**forget, "lookup_token": good["lookup_token"]})


# --- Over the signed sync ------------------------------------------------------------


def test_a_registered_receipt_signs_in_at_intake_and_sees_the_pushed_reply(
        bridged: Bridged) -> None:
    code, _case_id, receipt_id = _oral_case(bridged)
    bridged.cycle()  # the registration first, then the reply (which waited for it)
    [command] = _commands(bridged)
    assert command.delivered_at is not None
    record = _receipts(bridged)[receipt_id]
    assert json.loads(record.recipient_key_ids) == {"readers": ["01" * 16], "excluded": []}
    tipster = bridged.linked.intake.test_client()
    sign_in(tipster, code)
    assert REPLY in tipster.get("/dialogue").get_data(as_text=True)
    assert _delivered_events(bridged) == [{"registered": 1, "forgotten": 0}]
    # Delivered again (at least once): applied as a no-op, nothing added or changed.
    item = _as_sent(command)
    assert bridged.client().command([item]) == ([item.command_id], [])
    assert _receipts(bridged)[receipt_id].lookup_token == record.lookup_token
    assert len(_receipts(bridged)) == 1
    # Nothing more to deliver: a further cycle sends no command and audits none.
    bridged.cycle()
    assert len(_delivered_events(bridged)) == 1


def _as_sent(row: IntakeCommand) -> CommandItem:
    """A queued command as the bridge sends it."""
    return CommandItem.from_wire({**json.loads(row.payload), "id": row.id, "kind": row.kind})


def test_forget_removes_the_dialogue_rows_and_bodies(bridged: Bridged) -> None:
    tipster, code, case_id, receipt_id = _written_case(bridged)
    sign_in(tipster, code)
    assert "Tack för din rapport" in tipster.get("/dialogue").get_data(as_text=True)
    intake = _intake(bridged)
    with intake.db.session() as session:
        envelopes = list(session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.receipt_id == receipt_id)))
        needles = [e.header[-32:] for e in envelopes]
        needles += [(intake.store.root / e.id).read_bytes()[-32:] for e in envelopes]
        body_paths = [intake.store.root / e.id for e in envelopes]
    assert len(envelopes) >= 2  # the tipster's own copy and the acknowledgement
    casework = services(bridged.linked.casework)
    with casework.unit() as unit:
        forget_dialogue(unit.session, unit.session.get_one(Case, case_id))
    bridged.cycle()
    assert receipt_id not in _receipts(bridged)
    with intake.db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEnvelope)) == 0
    assert not any(path.exists() for path in body_paths)
    # Not one ciphertext byte run left in intake's database, its journal or its store.
    checkpoint(intake.db.engine)
    folder = intake.config.instance_path
    for path in [p for p in folder.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path.name
    data = stored_bytes(intake.config.database_url)  # the same file, or PostgreSQL's rows
    assert not any(needle in data for needle in needles)
    # The signed-in tipster's session ends: it finds no receipt.
    assert tipster.get("/dialogue").status_code in (302, 401)
    assert _delivered_events(bridged)[-1] == {"registered": 0, "forgotten": 1}
    # Forgetting again (re-delivered): applied, nothing to do.
    forget = _as_sent(_commands(bridged)[0])
    assert forget.command == DialogueForget(receipt_id)
    assert bridged.client().command([forget]) == ([forget.command_id], [])


def test_a_forged_or_replayed_command_is_refused(bridged: Bridged) -> None:
    body = {"commands": [_registration(secrets.token_hex(16), b"t" * 32, b"k" * 32)]}
    assert _post(bridged, "command", _command_message(
        bridged, body, crypto.SigningKey.generate())) == 401
    assert _receipts(bridged) == {}
    message = _command_message(bridged, body)
    assert _post(bridged, "command", message) == 200
    assert len(_receipts(bridged)) == 1
    assert _post(bridged, "command", message) == 401  # the same nonce again
    # A message signed for another purpose is refused at the command path.
    other = crypto.sign_message(bridged.linked.signing, purpose="push",
                                body=json.dumps(body).encode())
    assert _post(bridged, "command", other) == 401


def test_malformed_unknown_and_oversized_requests_are_refused_whole(
        bridged: Bridged) -> None:
    good = _registration(secrets.token_hex(16), b"t" * 32, b"k" * 32)
    limit = _intake(bridged).config.sync_batch_limit
    bodies: list[object] = [
        {"commands": [good, {**good, "id": secrets.token_hex(16), "kind": "drop-receipts"}]},
        {"commands": [good, {**good, "lookup_token": "AAAA"}]},
        {"commands": [good, {"id": secrets.token_hex(16), "kind": "forget-dialogue"}]},
        {"commands": [good], "more": 1}, {"commands": good}, {"command": [good]}, [good],
        {"commands": [_registration(secrets.token_hex(16), bytes([i]) * 32,
                                    bytes([i + 1]) * 32) for i in range(limit + 1)]},
    ]
    for body in bodies:
        assert _post(bridged, "command", _command_message(bridged, body)) == 400, body
    assert _receipts(bridged) == {}  # all or nothing: the good command was not applied


def test_a_registration_colliding_with_another_receipt_is_refused(
        bridged: Bridged, caplog: pytest.LogCaptureFixture) -> None:
    _tipster, _code, _case_id, receipt_id = _written_case(bridged)
    existing = _receipts(bridged)[receipt_id]
    token, key = existing.lookup_token, existing.tipster_public_key
    fresh = secrets.token_hex(16)
    items = [CommandItem.from_wire(c) for c in (
        _registration(fresh, token, b"k" * 32),  # another receipt's lookup token
        _registration(fresh, b"t" * 32, key),  # another receipt's key
        _registration(receipt_id, b"t" * 32, b"k" * 32))]  # its id, other values
    caplog.set_level(logging.WARNING)
    applied, refused = bridged.client().command(items)
    assert applied == []
    assert [reason for _id, reason in refused] == ["collision", "collision", "conflict"]
    assert _receipts(bridged).keys() == {receipt_id}
    assert _receipts(bridged)[receipt_id].tipster_public_key == key  # untouched
    # A fifth Argon2 parameter set in use would cost every sign-in one more derivation.
    sets = [{"t": t, "m": 16, "p": 1} for t in (2, 3, 4, 5)]
    answers = bridged.client().command([CommandItem.from_wire(_registration(
        secrets.token_hex(16), bytes([i]) * 32, bytes([i + 9]) * 32, kdf))
        for i, kdf in enumerate(sets)])
    assert len(answers[0]) == 3 and [r for _i, r in answers[1]] == ["kdf-limit"]
    # Through casework's queue: the refused command stays waiting, logged by id and code.
    _code, _case_id, oral_receipt = _oral_case(bridged, reply=None)
    casework = services(bridged.linked.casework)
    with casework.unit() as unit:
        row = unit.session.scalars(select(IntakeCommand)).one()
        payload = json.loads(row.payload)
        row.payload = json.dumps({**payload, "lookup_token": base64.b64encode(token).decode()})
    bridged.cycle()
    [row] = _commands(bridged)
    assert row.delivered_at is None and oral_receipt not in _receipts(bridged)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{row.id}: collision" in logged
    assert base64.b64encode(token).decode() not in logged and token.hex() not in logged


def test_two_cycles_at_once_deliver_a_command_once(bridged: Bridged,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _oral_case(bridged, reply=None)
    casework = services(bridged.linked.casework)
    real = IntakeClient.command
    answers: list[object] = []

    def the_other_cycle_delivers_meanwhile(self: IntakeClient,
                                           items: list[CommandItem]) -> Any:
        answer = real(self, items)
        if not answers:
            # The other worker took the same waiting command before this one stamped it:
            # both sent it, intake applied it (once: the second is a no-op).
            answers.append(None)
            answers[0] = cycle_module.deliver_commands(casework, bridged.client())
        return answer

    monkeypatch.setattr(IntakeClient, "command", the_other_cycle_delivers_meanwhile)
    assert cycle_module.deliver_commands(casework, bridged.client()) == 1
    assert answers == [1]
    [row] = _commands(bridged)
    assert row.delivered_at is not None
    assert _delivered_events(bridged) == [{"registered": 1, "forgotten": 0}]
    assert len(_receipts(bridged)) == 1


# --- As air-gap bundles --------------------------------------------------------------


def test_commands_cross_the_air_gap_and_an_old_bundle_cannot_bring_a_receipt_back(
        bridged: Bridged, tmp_path: Path) -> None:
    _air_gap(bridged)
    code, case_id, receipt_id = _oral_case(bridged)
    casework_app, intake_app = bridged.linked.casework, bridged.linked.intake
    first = tmp_path / "1-to-intake.bundle"
    _cli(casework_app, "bridge", "export", "--out", str(first))
    assert "applied 1 commands" in _cli(intake_app, "bridge", "import", "--in", str(first))
    assert receipt_id in _receipts(bridged)
    # Intake's bundle tells casework the receipt is there; the reply then goes.
    back, answer = tmp_path / "2-to-casework.bundle", tmp_path / "3-to-intake.bundle"
    _cli(intake_app, "bridge", "export", "--out", str(back))
    _cli(casework_app, "bridge", "import", "--in", str(back), "--reply", str(answer))
    assert _commands(bridged)[0].delivered_at is not None
    assert _delivered_events(bridged) == [{"registered": 1, "forgotten": 0}]
    _cli(intake_app, "bridge", "import", "--in", str(answer))
    tipster = intake_app.test_client()
    sign_in(tipster, code)
    assert REPLY in tipster.get("/dialogue").get_data(as_text=True)
    # The case is purged: the forget crosses; the first bundle, carried again (or late),
    # does not register the receipt again.
    casework = services(casework_app)
    with casework.unit() as unit:
        forget_dialogue(unit.session, unit.session.get_one(Case, case_id))
    forget = tmp_path / "4-to-intake.bundle"
    _cli(casework_app, "bridge", "export", "--out", str(forget))
    _cli(intake_app, "bridge", "import", "--in", str(forget))
    assert receipt_id not in _receipts(bridged)
    replayed = intake_app.test_cli_runner().invoke(args=["bridge", "import", "--in",
                                                         str(first)])
    assert replayed.exit_code == 0 and "skipped the commands" in replayed.output
    assert receipt_id not in _receipts(bridged)
    with _intake(bridged).db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredEnvelope)) == 0
    final = tmp_path / "5-to-casework.bundle"
    _cli(intake_app, "bridge", "export", "--out", str(final))
    _cli(casework_app, "bridge", "import", "--in", str(final), "--reply",
         str(tmp_path / "6.bundle"))
    assert all(row.delivered_at is not None for row in _commands(bridged))
    assert _delivered_events(bridged)[-1] == {"registered": 0, "forgotten": 1}
