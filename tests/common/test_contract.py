"""The contract between intake and casework: one vocabulary, one wire form, both sides.

- every label table of both apps covers every member of the contract's enums, in Swedish
  and English, and names nothing the enums lack (the test that catches the next drift);
- every item and payload round-trips through its one wire form;
- malformed wire items are refused, naming the field and never its value;
- what one side writes is what the other side parses;
- ``common.contract`` is the one import path for every public name of its modules.
"""

from __future__ import annotations

import ast
import base64
import json
import pkgutil
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from casework.bridge.imports import ACCEPTED_KINDS
from casework.bridge.pushes import PUSHED_KINDS
from casework.i18n import CATEGORY_LABELS, OUTCOME_LABELS, STAGE_LABELS
from casework.models import CaseEnvelope
from common import contract
from common.contract import (
    FROM_TIPSTER_KINDS,
    REQUESTS,
    RESPONSES,
    TO_TIPSTER_KINDS,
    Author,
    BundledTipsterItem,
    Category,
    DialogueMessage,
    DialogueReport,
    EnvelopeKind,
    Outcome,
    ReplyItem,
    Stage,
    StatusUpdate,
    SyncPurpose,
    TipsterItem,
    announced_stage,
    b64,
)
from common.sync_schema import MAX_KIND, Malformed, validate
from common.vocabulary import CATEGORY_CODES
from intake.categories import CATEGORIES, OUTCOMES, STAGES
from intake.models import StoredEnvelope

TABLES: list[tuple[str, type[StrEnum], Mapping[str, object]]] = [
    ("intake", Category, CATEGORIES), ("intake", Stage, STAGES),
    ("intake", Outcome, OUTCOMES), ("casework", Category, CATEGORY_LABELS),
    ("casework", Stage, STAGE_LABELS), ("casework", Outcome, OUTCOME_LABELS),
]


def _labels(app_name: str, table: Mapping[str, object], locale: str) -> dict[str, str]:
    """The table's labels as the app shows them in ``locale`` (its own catalogue)."""
    app = Flask(app_name)  # the package's folder: its translations/ are the app's own
    Babel(app)
    with app.app_context(), force_locale(locale):
        return {key: str(label) for key, label in table.items()}


@pytest.mark.parametrize(("app_name", "enum", "table"), TABLES,
                         ids=[f"{a}-{e.__name__}" for a, e, _ in TABLES])
def test_each_apps_labels_cover_exactly_the_contracts_members_in_both_languages(
        app_name: str, enum: type[StrEnum], table: Mapping[str, object]) -> None:
    assert set(table) == {member.value for member in enum}, "a label table drifted"
    english, swedish = _labels(app_name, table, "en"), _labels(app_name, table, "sv")
    for member in enum:
        assert english[member] and swedish[member], member
        # Translated: the Swedish label is not the English msgid left as it is.
        assert swedish[member] != english[member], f"{app_name}: {member} has no Swedish"


def test_the_category_codes_are_the_contracts() -> None:
    assert tuple(member.value for member in Category) == CATEGORY_CODES


def test_the_kinds_each_side_may_send() -> None:
    # What casework's import accepts is exactly what the contract lets a tipster send,
    # and what it pushes exactly what intake stores for the tipster.
    assert ACCEPTED_KINDS == FROM_TIPSTER_KINDS
    assert PUSHED_KINDS == TO_TIPSTER_KINDS
    assert {EnvelopeKind.REPORT, EnvelopeKind.FILE, EnvelopeKind.IDENTITY,
            EnvelopeKind.MESSAGE, EnvelopeKind.MINUTES_APPROVED,
            EnvelopeKind.MINUTES_CORRECTED} == FROM_TIPSTER_KINDS
    assert {EnvelopeKind.MESSAGE, EnvelopeKind.STATUS, EnvelopeKind.MINUTES} == TO_TIPSTER_KINDS
    assert set(REQUESTS) == set(RESPONSES) == set(SyncPurpose)
    assert SyncPurpose.PULL.response == "pull-response"


def test_every_kind_fits_the_wire_and_both_kind_columns() -> None:
    # A longer kind would be refused as malformed by the pull's schema (never imported,
    # never acknowledged) and overflow the kind columns of both databases on PostgreSQL.
    for kind in EnvelopeKind:
        assert len(kind.value) <= MAX_KIND, kind
    assert CaseEnvelope.__table__.c.kind.type.length == MAX_KIND
    assert StoredEnvelope.__table__.c.kind.type.length == MAX_KIND


# --- Round trips -------------------------------------------------------------------------

TIPSTER_ITEM = TipsterItem(envelope_id="a" * 32, receipt_id="b" * 32, kind="report",
                           header=b"\x00header\xff", body_size=12,
                           tipster_public_key=b"\xcc" * 32, unit_id="etik")
REPLY_ITEM = ReplyItem(receipt_id="b" * 32, envelope_id="c" * 32, kind=EnvelopeKind.STATUS,
                       header=b"\x01h", body=b"\x00sealed\xff")


def _through_json(wire: dict[str, Any]) -> Any:
    return json.loads(json.dumps(wire))


def test_items_round_trip_through_their_one_wire_form() -> None:
    assert TipsterItem.from_wire(_through_json(TIPSTER_ITEM.to_wire())) == TIPSTER_ITEM
    assert ReplyItem.from_wire(_through_json(REPLY_ITEM.to_wire())) == REPLY_ITEM
    bundled = BundledTipsterItem(TIPSTER_ITEM, b"x" * 12)
    assert BundledTipsterItem.from_wire(_through_json(bundled.to_wire())) == bundled
    # Bytes travel in standard base64, the same over HTTP and in bundles.
    assert TIPSTER_ITEM.to_wire()["header"] == base64.b64encode(b"\x00header\xff").decode()
    assert bundled.to_wire()["header"] == TIPSTER_ITEM.to_wire()["header"]
    assert REPLY_ITEM.to_wire()["kind"] == "status"


def test_a_bundled_items_size_is_its_bodys() -> None:
    bundled = BundledTipsterItem(TIPSTER_ITEM, b"yz")
    assert "body_size" not in bundled.to_wire()
    assert BundledTipsterItem.from_wire(bundled.to_wire()).item.body_size == 2


def test_dialogue_payloads_have_one_json_form() -> None:
    reply = DialogueMessage(author=Author.REVIEWER, text="Tack", automatic=True,
                            stage=Stage.ACKNOWLEDGED, sent_at="2026-01-01T00:00:00+00:00")
    assert _through_json(reply.to_json()) == {
        "type": "message", "author": "reviewer", "text": "Tack", "automatic": True,
        "stage": "acknowledged", "sent_at": "2026-01-01T00:00:00+00:00"}
    assert announced_stage(reply.to_json()) == Stage.ACKNOWLEDGED
    own = DialogueMessage(author=Author.TIPSTER, text="Hej", files=("a.pdf",))
    assert own.to_json()["files"] == ["a.pdf"] and "stage" not in own.to_json()
    assert announced_stage(own.to_json()) is None
    assert announced_stage({"stage": "escalated"}) is None  # not a stage of the contract
    status = StatusUpdate(Stage.CONCLUDED)
    assert announced_stage(_through_json(status.to_json())) == Stage.CONCLUDED
    report = DialogueReport(category=Category.ETHICS, agency="Skatteverket", files=(),
                            confidential=False)
    assert report.to_json()["category"] == "ethics" and report.to_json()["author"] == "tipster"


# --- Malformed wire items ----------------------------------------------------------------

MALFORMED_TIPSTER_ITEMS: list[dict[str, Any]] = [
    {"header": "!!not base64!!"}, {"header": "00"}, {"header": 5},
    {"tipster_public_key": b64(b"\xcc" * 31)}, {"tipster_public_key": b64(b"\xcc" * 33)},
    {"tipster_public_key": "cc" * 32},  # hex: the old form
    {"envelope_id": "A" * 32}, {"receipt_id": "b" * 31}, {"kind": ["report"]},
    {"kind": ""}, {"body_size": -1}, {"body_size": True}, {"body_size": 1.5},
    {"unit_id": ""}, {"unit_id": None}, {"extra": 1},
]


@pytest.mark.parametrize("change", MALFORMED_TIPSTER_ITEMS)
def test_a_malformed_tipster_item_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(Malformed, match=r"^pull item"):
        TipsterItem.from_wire({**TIPSTER_ITEM.to_wire(), **change}, "pull item")


@pytest.mark.parametrize("field", ["envelope_id", "receipt_id", "kind", "header",
                                   "body_size", "tipster_public_key", "unit_id"])
def test_a_tipster_item_missing_a_field_is_refused(field: str) -> None:
    wire = TIPSTER_ITEM.to_wire()
    del wire[field]
    with pytest.raises(Malformed, match="exactly the fields"):
        TipsterItem.from_wire(wire)


@pytest.mark.parametrize("change", [
    {"kind": "note"}, {"kind": "report"}, {"body": "!!"}, {"header": "zz"},
    {"envelope_id": "../../etc/passwd"}, {"receipt_id": 1}, {"more": "x"}])
def test_a_malformed_reply_item_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        ReplyItem.from_wire({**REPLY_ITEM.to_wire(), **change})


@pytest.mark.parametrize("value", [None, [], "item", 5])
def test_an_item_that_is_not_an_object_is_refused(value: object) -> None:
    for parse in (TipsterItem.from_wire, ReplyItem.from_wire, BundledTipsterItem.from_wire):
        with pytest.raises(Malformed, match="not an object"):
            parse(value)


def test_refusals_name_the_field_never_its_value() -> None:
    secret = "A" * 31 + "!"
    with pytest.raises(Malformed) as refused:
        TipsterItem.from_wire({**TIPSTER_ITEM.to_wire(), "header": secret})
    assert "header" in str(refused.value) and secret not in str(refused.value)


def test_a_well_formed_item_of_a_casework_kind_passes_the_wire_check() -> None:
    # Refused by casework's import instead (and acknowledged there, so it cannot block
    # the queue): tests/bridge/test_compromised_intake.py.
    note = TipsterItem.from_wire({**TIPSTER_ITEM.to_wire(), "kind": "note"})
    assert note.kind == "note" and note.kind not in FROM_TIPSTER_KINDS


# --- What one side writes, the other reads ----------------------------------------------


def test_intakes_pull_answer_is_what_caseworks_cycle_parses() -> None:
    from intake.bridge.outbox import OutboundEnvelope

    waiting = OutboundEnvelope(
        envelope_id="a" * 32, receipt_id="b" * 32, kind="file", header=b"h",
        body_path=Path("/nonexistent"), tipster_public_key=b"\x01" * 32,
        unit_id="akt", body_size=7)
    # The sync app's answer, as sent; casework checks the answer, then each item.
    answer = _through_json({"items": [waiting.item().to_wire()]})
    [raw] = validate(RESPONSES[SyncPurpose.PULL], answer, "pull answer")["items"]
    item = TipsterItem.from_wire(raw, "pull item")
    assert (item.envelope_id, item.kind, item.header, item.body_size, item.unit_id) == (
        "a" * 32, "file", b"h", 7, "akt")
    assert item.tipster_public_key == b"\x01" * 32


def test_caseworks_push_is_what_the_sync_app_parses() -> None:
    # As casework's client sends it and intake's sync app checks it (all or nothing).
    request = _through_json({"items": [REPLY_ITEM.to_wire()]})
    assert validate(REQUESTS[SyncPurpose.PUSH], request)["items"] == [REPLY_ITEM]
    with pytest.raises(Malformed, match=r"body\.items\[1\]\.kind"):
        validate(REQUESTS[SyncPurpose.PUSH],
                 {"items": [REPLY_ITEM.to_wire(), {**REPLY_ITEM.to_wire(), "kind": "note"}]})


def test_the_package_re_exports_every_public_name_of_its_modules() -> None:
    # Both apps import from common.contract itself, whichever module defines a name: one
    # left out here would send an app inside the package (or be missing to one of them).
    defined = set()
    for info in pkgutil.iter_modules(contract.__path__):
        tree = ast.parse((Path(contract.__path__[0]) / f"{info.name}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                defined.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined |= {t.id for t in targets if isinstance(t, ast.Name)}
    public = {name for name in defined if not name.startswith("_")}
    assert {"Category", "TipsterItem", "CommandItem", "REQUESTS", "StatusUpdate"} <= public
    assert set(contract.__all__) == public
    assert all(hasattr(contract, name) for name in public)
