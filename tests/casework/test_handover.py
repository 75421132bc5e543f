"""Bulk handover: every case of one person goes to another, except those the receiver may
not have, which stay and are reported; on the page and on the command line."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from casework.assignment import assign
from casework.events import CasesHandedOver
from casework.handover import hand_over
from casework.models import Case, Role
from tests.support.casework import PASSWORD, Staff

from .conftest import services
from .handling_support import (
    assigned,
    call,
    client,
    holds,
    report,
    state,
    token,
    user_id,
)
from .linked import Linked


@pytest.fixture
def two_cases(linked: Linked, enrol: Callable[..., Staff]) -> tuple[str, str]:
    """Axel (joined late) is assigned two cases; the tipster of the second left Anna out."""
    linked.staff["axel"] = enrol("axel", Role.REVIEWER, "akt")
    open_case = report(linked, what="Case one")
    closed_case = report(linked, what="Case two", exclude=("anna",))
    for case_id in (open_case, closed_case):
        call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    return open_case, closed_case


def _reference(linked: Linked, case_id: str) -> str:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case.reference


def _check_outcome(linked: Linked, open_case: str, closed_case: str) -> None:
    assert assigned(linked, open_case) == {"anna"}
    assert holds(linked, open_case, "anna") and not holds(linked, open_case, "axel")
    # The excluded receiver did not get the second case; it stays with Axel.
    assert assigned(linked, closed_case) == {"axel"}
    assert not holds(linked, closed_case, "anna") and holds(linked, closed_case, "axel")


def test_the_handover_page_hands_over_and_reports_what_it_skipped(
        linked: Linked, two_cases: tuple[str, str]) -> None:
    open_case, closed_case = two_cases
    lena = client(linked, "lena")
    form = lena.get("/handover").get_data(as_text=True)
    assert user_id(linked, "axel") in form and user_id(linked, "anna") in form
    response = lena.post("/handover", data={"csrf_token": token(lena),
                                            "giver": user_id(linked, "axel"),
                                            "receiver": user_id(linked, "anna")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _reference(linked, open_case) in page
    assert _reference(linked, closed_case) in page and "left this person out" in page
    _check_outcome(linked, open_case, closed_case)


def test_the_handover_command_hands_over_and_reports_what_it_skipped(
        linked: Linked, two_cases: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    open_case, closed_case = two_cases
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    result = linked.casework.test_cli_runner().invoke(
        args=["cases", "handover", "axel", "anna", "--lead", "lena"])
    assert result.exit_code == 0, result.output
    assert f"  {_reference(linked, open_case)}" in result.output
    assert f"{_reference(linked, closed_case)}: the tipster left the receiver out" \
        in result.output
    _check_outcome(linked, open_case, closed_case)


def test_the_command_refuses_a_wrong_password_and_changes_nothing(
        linked: Linked, two_cases: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    before = [state(linked, c) for c in two_cases]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "not the password")
    result = linked.casework.test_cli_runner().invoke(
        args=["cases", "handover", "axel", "anna", "--lead", "lena"])
    assert result.exit_code != 0 and "does not open" in result.output
    # A reviewer is no lead: refused, nothing handed over.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    result = linked.casework.test_cli_runner().invoke(
        args=["cases", "handover", "axel", "eva", "--lead", "anna"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert [state(linked, c) for c in two_cases] == before


def test_the_domain_function_emits_one_summary_event(linked: Linked,
                                                     two_cases: tuple[str, str]) -> None:
    heard: list[CasesHandedOver] = []
    services(linked.casework).dispatcher.subscribe(CasesHandedOver,
                                                   lambda _s, e: heard.append(e))
    result = call(linked, "lena", hand_over, user_id(linked, "axel"), user_id(linked, "anna"))
    assert len(result.handed_over) == 1 and [s.reason for s in result.skipped] == ["excluded"]
    assert [(e.handed_over, e.skipped) for e in heard] == [(1, 1)]


def test_a_receiver_of_another_unit_gets_nothing_and_every_case_is_reported(
        linked: Linked, two_cases: tuple[str, str]) -> None:
    result = call(linked, "lena", hand_over, user_id(linked, "axel"), user_id(linked, "eva"))
    assert result.handed_over == []
    assert [s.reason for s in result.skipped] == ["not-a-reader", "not-a-reader"]
    assert {s.case_id for s in result.skipped} == set(two_cases)
    for case_id in two_cases:
        assert assigned(linked, case_id) == {"axel"} and not holds(linked, case_id, "eva")


def test_forged_people_wrong_role_csrf_and_json_change_nothing(
        linked: Linked, two_cases: tuple[str, str], enrol: Callable[..., Staff]) -> None:
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    before = [state(linked, c) for c in two_cases]
    people = {"giver": user_id(linked, "axel"), "receiver": user_id(linked, "anna")}
    lena = client(linked, "lena")
    assert lena.post("/handover", data={"csrf_token": token(lena), "giver": "0" * 32,
                                        "receiver": people["receiver"]}).status_code == 400
    assert lena.post("/handover", data={"csrf_token": token(lena), "giver": people["giver"],
                                        "receiver": people["giver"]}).status_code == 400
    assert lena.post("/handover", data=people).status_code == 400  # no CSRF token
    assert lena.post("/handover", json=people).status_code in (400, 415)
    anna = client(linked, "anna")
    assert anna.post("/handover", data={"csrf_token": token(anna), **people}).status_code == 403
    # Another unit's lead: the cases are not in a unit Lars leads; nothing is touched.
    lars = client(linked, "lars")
    answer = lars.post("/handover", data={"csrf_token": token(lars), **people})
    assert answer.status_code == 200 and "LY-" not in answer.get_data(as_text=True)
    assert [state(linked, c) for c in two_cases] == before
    with services(linked.casework).db.session() as db:
        assert len(db.scalars(select(Case)).all()) == 2
