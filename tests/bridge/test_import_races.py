"""Two bridge cycles importing the same envelope at once (two rq workers): nothing lost.

Casework runs on PostgreSQL here: on SQLite its units of work take the write lock at
BEGIN (common.db), so a second import cannot commit while the first is open and the
interleaving raced below cannot happen there; on PostgreSQL it can.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import crypto
from casework import CaseworkConfig
from casework.bridge.imports import Incoming, import_from_intake
from casework.models import CaseEnvelope
from intake.bridge.outbox import outbox
from tests.casework.conftest import services
from tests.casework.linked import Linked
from tests.intake.conftest import csrf_token, sign_in, submit


@pytest.fixture
def casework_config(casework_config: CaseworkConfig,
                    new_postgres_database: Callable[[], str]) -> CaseworkConfig:
    """The linked casework of this module on a fresh throwaway PostgreSQL database."""
    return replace(casework_config, database_url=new_postgres_database())


# SQLAlchemy warns that the loser's new row collides with the winner's: that is the race.
@pytest.mark.filterwarnings("ignore:New instance .* conflicts with persistent instance")
def test_two_imports_of_the_same_envelope_at_once_keep_its_body(
        linked: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    tipster = linked.intake.test_client()
    sign_in(tipster, submit(tipster, category="ethics"))
    linked.sync()  # the report is in a case
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": "A follow-up, raced."},
                 content_type="multipart/form-data")
    intake = linked.intake.extensions["lykta.intake"]
    casework = services(linked.casework)
    assert casework.db.engine.dialect.name == "postgresql"
    [item] = [Incoming(o.envelope_id, o.receipt_id, o.kind, o.header, o.body_path,
                       o.tipster_public_key, o.unit_id) for o in outbox(intake)]
    assert item.kind == "message"
    place = casework.store.commit
    other: list[Any] = []

    def the_other_worker_commits_meanwhile(incoming: Path, envelope_id: str) -> None:
        # This worker has placed its body and is about to commit its row; the other worker
        # (same envelope, its own copy of the body) imports and commits first.
        place(incoming, envelope_id)
        if not other:
            other.append(None)
            other[0] = import_from_intake(casework, [item])

    monkeypatch.setattr(casework.store, "commit", the_other_worker_commits_meanwhile)
    outcome = import_from_intake(casework, [item])
    assert other[0].imported == 1
    # This worker lost the race on its commit: that is a redelivery, acknowledged again,
    # and its rollback must not delete the body the winner's committed row names.
    assert outcome.acknowledge == [item.envelope_id] and outcome.refused == 0
    with casework.db.session() as session:
        row = session.get(CaseEnvelope, item.envelope_id)
        assert row is not None
        header = row.header
    out = io.BytesIO()
    with casework.store.open(item.envelope_id) as body:
        crypto.open_stream(header, body, out, linked.escrow)
    assert b"A follow-up, raced." in out.getvalue()
    assert list(casework.store.incoming_dir.iterdir()) == []


def test_two_pushes_of_the_same_reply_at_once_store_it_once_without_an_error(
        linked: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.contract import EnvelopeKind, ReplyItem
    from intake.bridge import outbox as outbox_module
    from intake.models import StoredEnvelope

    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    linked.sync()
    intake = linked.intake.extensions["lykta.intake"]
    casework = services(linked.casework)
    # The automatic acknowledgement was pushed already; take it as the reply to race.
    with casework.db.session() as session:
        reply = session.query(CaseEnvelope).filter(CaseEnvelope.origin == "casework").one()
        envelope_id, header = reply.id, reply.header
        receipt_id = reply.case.intake_receipt_id
    with casework.store.open(envelope_id) as source:
        body = source.read()
    with intake.db.session() as session:
        session.query(StoredEnvelope).filter(StoredEnvelope.id == envelope_id).delete()
    item = ReplyItem(receipt_id=receipt_id, envelope_id=envelope_id, kind=EnvelopeKind.MESSAGE,
                     header=header, body=body)
    store_sealed = outbox_module.store_sealed
    other: list[object] = []

    def the_other_push_commits_meanwhile(*args: Any, **kwargs: Any) -> str:
        if not other:
            other.append("started")
            outbox_module.accept_for_tipster(intake, item)
        return store_sealed(*args, **kwargs)

    monkeypatch.setattr(outbox_module, "store_sealed", the_other_push_commits_meanwhile)
    outbox_module.accept_for_tipster(intake, item)
    monkeypatch.undo()
    sign_in(tipster, receipt)
    assert tipster.get("/dialogue").get_data(as_text=True).count("Tack för din rapport") == 1
