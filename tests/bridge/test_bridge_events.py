"""The bridge's domain events: each imported item's unit of work tells its subscribers,
after that item (and only it) has committed; a refused or failed item tells nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.bridge import last_success, sync_is_stale
from casework.bridge.imports import Incoming, import_from_intake
from casework.events import (
    AcknowledgedAutomatically,
    BridgeCycleCompleted,
    CaseOpened,
    ItemImported,
)
from casework.models import Case, CaseEnvelope
from common.unit_of_work import DomainEvent, Phase
from intake.bridge.outbox import outbox
from intake.models import StoredEnvelope
from tests.casework.conftest import services
from tests.casework.events_support import only_ids_and_codes, record
from tests.intake.conftest import submit

from .conftest import Bridged
from .test_compromised_intake import _first_receipt, _forge


def items(heard: list[DomainEvent]) -> list[DomainEvent]:
    """What the items' units told: each cycle or bundle import also ends with its counts
    (BridgeCycleCompleted, for the audit log), set aside here."""
    return [e for e in heard if not isinstance(e, BridgeCycleCompleted)]


def waiting(b: Bridged) -> set[str]:
    """Ids still at intake for casework (not acknowledged)."""
    with b.linked.intake.extensions["lykta.intake"].db.session() as session:
        return set(session.scalars(select(StoredEnvelope.id).where(
            StoredEnvelope.audience == "casework")))


def intake_ids(b: Bridged) -> tuple[str, str]:
    """(the report's id, the file's id) waiting at intake."""
    with b.linked.intake.extensions["lykta.intake"].db.session() as session:
        rows = session.execute(select(StoredEnvelope.id, StoredEnvelope.kind).where(
            StoredEnvelope.audience == "casework")).all()
    kinds = {kind: envelope_id for envelope_id, kind in rows}
    return kinds["report"], kinds["file"]


def report_with_a_file(b: Bridged) -> tuple[str, str]:
    submit(b.linked.intake.test_client(), category="ethics", what="Events across",
           files=[(io.BytesIO(b"x" * 1000), "a.bin")])
    return intake_ids(b)


def test_a_cycle_tells_of_the_case_each_item_and_the_acknowledgement_after_each_commit(
        bridged: Bridged) -> None:
    report_id, file_id = report_with_a_file(bridged)
    heard = record(bridged.linked.casework)
    report = bridged.cycle()
    assert (report.imported, report.acknowledged) == (2, 2)
    with services(bridged.linked.casework).db.session() as session:
        [case] = session.scalars(select(Case))
        case_id, unit_id = case.id, case.unit_id
        [ack_id] = session.scalars(select(CaseEnvelope.id).where(
            CaseEnvelope.origin == "casework"))
    assert items(heard.after) == [CaseOpened(case_id, unit_id),
                           ItemImported(case_id, report_id, "report"),
                           AcknowledgedAutomatically(case_id, ack_id),
                           ItemImported(case_id, file_id, "file")]
    assert heard.before == heard.after
    assert all(only_ids_and_codes(event) for event in heard.after)
    assert heard.after[-1] == BridgeCycleCompleted("online", 2, 2, 1, 0)  # 1: the ack
    # The report's unit (case, report, acknowledgement) had committed when its events were
    # heard, and the file's had not: one unit per item, dispatched after its own commit.
    for seen_cases, seen_rows in zip(heard.cases_seen[:3], heard.rows_seen[:3], strict=True):
        assert seen_cases == {case_id}
        assert seen_rows == {report_id, ack_id}
    assert heard.rows_seen[3] == {report_id, ack_id, file_id}
    # Acknowledged only after the commits.
    assert waiting(bridged) == set()


def test_a_redelivery_tells_nothing(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics")
    intake = bridged.linked.intake.extensions["lykta.intake"]
    # The same item twice (an acknowledgement lost on the way, say): imported once only.
    items = [Incoming(o.envelope_id, o.receipt_id, o.kind, o.header, o.body_path,
                      o.tipster_public_key, o.unit_id) for o in outbox(intake)]
    casework = services(bridged.linked.casework)
    heard = record(bridged.linked.casework)
    first = import_from_intake(casework, items)
    assert first.imported == 1
    assert [type(e) for e in heard.after] == [CaseOpened, ItemImported,
                                              AcknowledgedAutomatically]
    heard.after.clear()
    heard.before.clear()
    again = import_from_intake(casework, items)
    assert again.imported == 0 and again.acknowledge == first.acknowledge
    assert heard.after == [] and heard.before == []


def test_a_refused_item_tells_nothing(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics")
    bridged.cycle()
    heard = record(bridged.linked.casework)
    forged = _forge(bridged, _first_receipt(bridged), "note")
    bridged.cycle()
    with services(bridged.linked.casework).db.session() as session:
        assert session.get(CaseEnvelope, forged) is None
    assert forged not in waiting(bridged)  # refused and acknowledged, as before
    assert items(heard.before) == [] and items(heard.after) == []


def test_an_in_transaction_subscriber_that_fails_keeps_its_item_at_intake(
        bridged: Bridged) -> None:
    report_id, file_id = report_with_a_file(bridged)
    casework = services(bridged.linked.casework)
    failing = [True]

    def refuse_files(_session: Session, event: ItemImported) -> None:
        if failing[0] and event.kind == "file":
            raise RuntimeError("the audit log is unavailable")

    casework.dispatcher.subscribe(ItemImported, refuse_files, phase=Phase.BEFORE_COMMIT)
    heard = record(bridged.linked.casework)
    with pytest.raises(RuntimeError):
        bridged.cycle()
    with casework.db.session() as session:
        rows = set(session.scalars(select(CaseEnvelope.id)))
    # The report's unit committed (one bad item does not undo the others); the file's
    # rolled back, its body with it, and nothing was acknowledged: both wait at intake.
    assert report_id in rows and file_id not in rows
    assert not (casework.store.root / file_id).exists()
    assert list(casework.store.incoming_dir.iterdir()) == []
    assert waiting(bridged) == {report_id, file_id}
    assert [type(e) for e in heard.after] == [CaseOpened, ItemImported,
                                              AcknowledgedAutomatically]
    assert file_id not in {getattr(e, "envelope_id", None) for e in heard.after}
    heard.after.clear()
    # The next cycle, the subscriber working again: the file is imported, nothing lost,
    # and the report (a redelivery now) tells nothing twice.
    failing[0] = False
    # (A cycle's ``imported`` counts what casework holds, the redelivered report too.)
    report = bridged.cycle()
    assert (report.imported, report.acknowledged) == (2, 2)
    assert waiting(bridged) == set()
    [case_id] = heard.cases_seen[-1]
    assert items(heard.after) == [ItemImported(case_id, file_id, "file")]
    assert (casework.store.root / file_id).exists()


def test_an_air_gap_bundle_tells_the_same_and_a_replay_tells_nothing(
        bridged: Bridged, tmp_path: Path) -> None:
    from .test_bundles import _air_gap, _cli

    _air_gap(bridged)
    submit(bridged.linked.intake.test_client(), category="ethics")
    out, answer = tmp_path / "to-casework.bundle", tmp_path / "to-intake.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(out))
    heard = record(bridged.linked.casework)
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(out), "--reply", str(answer))
    assert [type(e) for e in items(heard.after)] == [CaseOpened, ItemImported,
                                              AcknowledgedAutomatically]
    assert heard.before == heard.after
    heard.after.clear()
    heard.before.clear()
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(out), "--reply", str(answer))
    assert items(heard.after) == [] and items(heard.before) == []


def test_bridge_status_reads_in_a_unit_and_tells_nothing(bridged: Bridged) -> None:
    heard = record(bridged.linked.casework)
    casework = services(bridged.linked.casework)
    with casework.unit() as unit:
        assert last_success(unit.session) is None
    bridged.cycle()
    with casework.unit() as unit:
        assert last_success(unit.session) is not None
        assert not sync_is_stale(casework, unit.session)
    result = bridged.linked.casework.test_cli_runner().invoke(args=["bridge", "status"])
    assert result.exit_code == 0 and "last successful sync: never" not in result.output
    assert items(heard.after) == [] and items(heard.before) == []
