"""The acknowledgement on arrival, both ways: automatic (the default) and by a reader.

With ``acknowledge_automatically`` off, import sends nothing and leaves the case
"received"; a reader acknowledges it through the workflow (received -> acknowledged),
which records the date and tells the tipster, as the automatic reply would have.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

import crypto
from casework.errors import NotPermitted
from casework.events import AcknowledgedAutomatically, CaseOpened, StageChanged
from casework.models import Case, CaseEnvelope, Role, StageChange
from casework.workflow import WrongState, change_stage
from common.contract import EnvelopeKind
from tests.intake.conftest import sign_in, submit
from tests.support.casework import link_intake

from .conftest import Staff, services
from .events_support import record
from .linked import Linked
from .workflow_support import act


@pytest.fixture
def by_hand(make_casework: Callable[..., Flask], enrol: Callable[..., Staff], tmp_path: Path,
            argon2_params: crypto.Argon2Params) -> Linked:
    """Intake and casework linked, casework set to acknowledge by hand."""
    escrow = crypto.generate_escrow_key()
    casework = make_casework(escrow_public_key=escrow.public_key.raw,
                             acknowledge_automatically=False)
    staff = {"eva": enrol("eva", Role.REVIEWER, "etik"),
             "anna": enrol("anna", Role.REVIEWER, "akt")}
    intake, signing = link_intake(casework, tmp_path / "intake", escrow, argon2_params)
    intake.config["TESTING"] = True
    return Linked(intake, casework, staff, escrow, signing)


def _the_case(app: Flask) -> Case:
    with services(app).db.session() as db:
        case = db.scalars(select(Case)).one()
        db.expunge(case)
        return case


def _tipster_status(linked: Linked, receipt: str) -> str:
    tipster = linked.intake.test_client()
    sign_in(tipster, receipt)
    tipster.set_cookie("lang", "en")
    page = tipster.get("/dialogue").get_data(as_text=True)
    start = page.index('id="case-status">') + len('id="case-status">')
    return page[start:page.index("<", start)]


def test_by_default_import_acknowledges_and_says_so(linked: Linked) -> None:
    events = record(linked.casework)
    submit(linked.intake.test_client(), category="ethics")
    assert linked.sync() == (1, 1)  # the report in, the acknowledgement out
    case = _the_case(linked.casework)
    assert (case.stage, case.acknowledged_on) == ("acknowledged", case.received_on)
    [acknowledged] = events.of(AcknowledgedAutomatically)
    assert isinstance(acknowledged, AcknowledgedAutomatically)
    assert acknowledged.case_id == case.id


def test_off_import_sends_nothing_and_leaves_the_case_received(by_hand: Linked) -> None:
    events = record(by_hand.casework)
    receipt = submit(by_hand.intake.test_client(), category="ethics")
    assert by_hand.sync() == (1, 0)  # the report in, nothing out
    case = _the_case(by_hand.casework)
    assert (case.stage, case.acknowledged_on) == ("received", None)
    assert events.of(CaseOpened) and not events.of(AcknowledgedAutomatically)
    with services(by_hand.casework).db.session() as db:
        kinds = set(db.scalars(select(CaseEnvelope.kind)))
    assert kinds == {EnvelopeKind.REPORT.value}  # no reply sealed, none waiting for push
    assert _tipster_status(by_hand, receipt) == "Received"


def test_off_a_reader_acknowledges_through_the_workflow(by_hand: Linked) -> None:
    receipt = submit(by_hand.intake.test_client(), category="ethics")
    by_hand.sync()
    case_id = _the_case(by_hand.casework).id
    events = record(by_hand.casework)
    # Not a reader of this unit's case: refused, and nothing changes.
    with pytest.raises(NotPermitted):
        act(by_hand, "anna", change_stage, case_id, "acknowledged", "receipt-confirmed", "")
    assert _the_case(by_hand.casework).stage == "received"
    act(by_hand, "eva", change_stage, case_id, "acknowledged", "receipt-confirmed",
        "Confirmed by phone.")
    case = _the_case(by_hand.casework)
    assert case.stage == "acknowledged" and case.acknowledged_on is not None
    [moved] = events.of(StageChanged)
    assert isinstance(moved, StageChanged)
    assert (moved.from_stage, moved.to_stage) == ("received", "acknowledged")
    assert not events.of(AcknowledgedAutomatically)
    with services(by_hand.casework).db.session() as db:
        assert [s.to_stage for s in db.scalars(select(StageChange))] == ["acknowledged"]
    assert by_hand.sync() == (0, 1)  # the status update to the tipster
    assert _tipster_status(by_hand, receipt) == "Acknowledged"
    # A second acknowledgement finds the stage moved on: refused.
    with pytest.raises(WrongState):
        act(by_hand, "eva", change_stage, case_id, "acknowledged", "receipt-confirmed", "")
