"""The two optional amounts of Directive art. 27(2) on the conclusion of a case.

Only a conclusion offers and accepts them (whole kronor, 0 to 10^13, spaces between
thousands allowed); anything else is refused with nothing changed. The audit entry of the
conclusion records them as numbers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.errors import InvalidInput
from casework.models import AuditEntry, Case
from casework.workflow import MAX_AMOUNT_SEK, change_stage, parse_amount

from .conftest import csrf, services
from .events_support import a_case
from .linked import Linked
from .test_cases import _reviewer
from .workflow_support import act, set_stage, state

MALFORMED = ["-5", "1.5", "1,5", "12 kr", "abc", "+5", "1e6", str(MAX_AMOUNT_SEK + 1),
             "\u0663", "\uff15", "5\n5", "x" * 40, "9" * 33, "0x10", "<script>"]


def _amounts(linked: Linked, case_id: str) -> tuple[int | None, int | None]:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case.damage_estimate_sek, case.recovered_sek


def _audited_amounts(linked: Linked, case_id: str) -> list[tuple[Any, Any]]:
    """The amounts in the details of the case's stage changes, as logged, oldest first."""
    with services(linked.casework).db.session() as db:
        details = db.scalars(select(AuditEntry.details).where(
            AuditEntry.case_id == case_id, AuditEntry.action == "stage_changed")
            .order_by(AuditEntry.seq)).all()
    return [(d.get("damage_estimate_sek"), d.get("recovered_sek"))
            for d in map(json.loads, details)]


def _post(client: FlaskClient, case_id: str, **fields: str) -> int:
    token = csrf(client, f"/cases/{case_id}")
    return client.post(f"/cases/{case_id}/stage",
                       data={"csrf_token": token, **fields}).status_code


def test_parse_amount() -> None:
    assert parse_amount(None) is None and parse_amount("") is None and parse_amount("  ") is None
    assert parse_amount("0") == 0
    assert parse_amount("1 250 000") == 1_250_000
    assert parse_amount("1\u00a0250\u202f000") == 1_250_000
    assert parse_amount(str(MAX_AMOUNT_SEK)) == MAX_AMOUNT_SEK
    for text in [*MALFORMED, 12, 1.5, ["1"]]:
        with pytest.raises(InvalidInput):
            parse_amount(text)


def test_a_conclusion_records_the_amounts_and_the_next_one_replaces_them(
        linked: Linked) -> None:
    case_id = a_case(linked, category="corruption", what="Kickbacks on road contracts")
    set_stage(linked.casework, case_id, "investigating")
    act(linked, "lena", change_stage, case_id, "concluded", "evidence-sufficient", "",
        "substantiated", damage_estimate_sek="1 250 000", recovered_sek="0")
    assert _amounts(linked, case_id) == (1_250_000, 0)
    # Reopening leaves them (the figures count conclusions); the next conclusion decides.
    act(linked, "lena", change_stage, case_id, "investigating", "new-information", "")
    assert _amounts(linked, case_id) == (1_250_000, 0)
    act(linked, "lena", change_stage, case_id, "concluded", "evidence-insufficient", "",
        "not-substantiated", damage_estimate_sek="", recovered_sek="300")
    assert _amounts(linked, case_id) == (None, 300)
    # The audit log records each conclusion's amounts, as numbers (never the typed text).
    logged = _audited_amounts(linked, case_id)
    assert logged[-3:] == [(1_250_000, 0), (None, None), (None, 300)]
    assert all(isinstance(a, int | None) and isinstance(b, int | None) for a, b in logged)


def test_malformed_amounts_and_amounts_on_other_moves_change_nothing(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption", what="Kickbacks on road contracts")
    set_stage(linked.casework, case_id, "investigating")
    before = state(linked.casework)
    for text in MALFORMED:
        for field in ("damage_estimate_sek", "recovered_sek"):
            amount: dict[str, Any] = {field: text}
            with pytest.raises(InvalidInput):
                act(linked, "lena", change_stage, case_id, "concluded",
                    "evidence-sufficient", "", "substantiated", **amount)
    assert state(linked.casework) == before
    assert _amounts(linked, case_id) == (None, None)
    set_stage(linked.casework, case_id, "acknowledged")
    before = state(linked.casework)
    for field in ("damage_estimate_sek", "recovered_sek"):
        amount = {field: "100"}
        with pytest.raises(InvalidInput):  # not a conclusion: no amounts
            act(linked, "anna", change_stage, case_id, "assessed", "within-scope", "",
                **amount)
    assert state(linked.casework) == before
    assert _amounts(linked, case_id) == (None, None)


def test_the_form_offers_the_amounts_only_when_concluding(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption", what="Kickbacks on road contracts")
    set_stage(linked.casework, case_id, "investigating")
    lena = _reviewer(linked, "lena")
    page = lena.get(f"/cases/{case_id}").get_data(as_text=True)
    forms = re.findall(r'<form [^>]*id="move-([a-z-]+)".*?</form>', page, re.S)
    assert forms == ["investigating-concluded"]
    assert 'name="damage_estimate_sek"' in page and 'name="recovered_sek"' in page
    set_stage(linked.casework, case_id, "received")
    page = lena.get(f"/cases/{case_id}").get_data(as_text=True)
    moves = re.findall(r'<form [^>]*id="move-([a-z-]+)"(.*?)</form>', page, re.S)
    assert {name for name, _ in moves} == {"received-acknowledged", "received-concluded"}
    for name, body in moves:
        assert ('name="damage_estimate_sek"' in body) == name.endswith("-concluded")
    # Posted to a move that is not a conclusion: refused, nothing changed.
    before = state(linked.casework)
    assert _post(lena, case_id, to_stage="acknowledged", reason_code="receipt-confirmed",
                 recovered_sek="5") == 400
    assert _post(lena, case_id, to_stage="concluded", reason_code="outside-scope",
                 outcome="closed-without-follow-up", damage_estimate_sek="1" * 33) == 400
    assert _post(lena, case_id, to_stage="concluded", reason_code="outside-scope",
                 outcome="closed-without-follow-up", damage_estimate_sek="-1") == 400
    assert state(linked.casework) == before
    assert _post(lena, case_id, to_stage="concluded", reason_code="outside-scope",
                 outcome="closed-without-follow-up", damage_estimate_sek="2 000",
                 recovered_sek="") == 302
    assert _amounts(linked, case_id) == (2000, None)
