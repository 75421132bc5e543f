"""Assign, unassign and transfer: the header follows the assignment, and a person the
tipster excluded is never offered and never accepted, on the page, by a post, in the
domain layer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from casework.assignment import assign, transfer, unassign
from casework.errors import InvalidInput, NotPermitted
from casework.models import Role
from tests.support.casework import Staff

from .handling_support import (
    ZERO,
    assigned,
    call,
    client,
    holds,
    readable_items,
    report,
    state,
    token,
    user_id,
)
from .linked import Linked


@pytest.fixture
def axel(linked: Linked, enrol: Callable[..., Staff]) -> Staff:
    """A reviewer who joined the anti-corruption team after the reports were sealed: an
    assignment is his only way into a case."""
    linked.staff["axel"] = enrol("axel", Role.REVIEWER, "akt")
    return linked.staff["axel"]


def _post(linked: Linked, name: str, case_id: str, action: str, **fields: str) -> int:
    lead = client(linked, name)
    prefix = {"unassign": "unassign", "transfer": "transfer"}.get(action)
    data = {f"{prefix}-{k}" if prefix else k: v for k, v in fields.items()}
    data[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token(lead, case_id)
    return lead.post(f"/cases/{case_id}/{action}", data=data).status_code


def test_assign_then_unassign_gives_and_takes_back_a_late_reader(linked: Linked,
                                                                 axel: Staff) -> None:
    case_id = report(linked)
    assert not holds(linked, case_id, "axel")
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    assert holds(linked, case_id, "axel") and assigned(linked, case_id) == {"axel"}
    assert client(linked, "axel").get(f"/cases/{case_id}").status_code == 200
    assert _post(linked, "lena", case_id, "unassign", person=user_id(linked, "axel")) == 302
    assert assigned(linked, case_id) == set()
    # The assignment was his only way in: his entry is gone from every envelope.
    assert not holds(linked, case_id, "axel") and not readable_items(linked, "axel", case_id)
    assert client(linked, "axel").get(f"/cases/{case_id}").status_code == 403
    assert "LY-" not in client(linked, "axel").get("/cases/").get_data(as_text=True)
    # The others still read it, and the lead can still seal a note (the list was re-tagged).
    lena = client(linked, "lena")
    assert lena.post(f"/cases/{case_id}/notes", data={
        "csrf_token": token(lena, case_id), "note-text": "After the unassignment."}
    ).status_code == 302
    assert "After the unassignment." in client(linked, "anna").get(
        f"/cases/{case_id}").get_data(as_text=True)


def test_unassigning_an_original_reader_keeps_their_entry(linked: Linked) -> None:
    case_id = report(linked)
    call(linked, "lena", assign, case_id, user_id(linked, "anna"))
    removed = call(linked, "lena", unassign, case_id, user_id(linked, "anna"))
    assert removed == 0 and assigned(linked, case_id) == set()
    assert holds(linked, case_id, "anna")  # intake sealed the report to her


def test_transfer_moves_the_case_in_one_step(linked: Linked, axel: Staff,
                                             enrol: Callable[..., Staff]) -> None:
    linked.staff["alma"] = enrol("alma", Role.REVIEWER, "akt")
    case_id = report(linked)
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    assert _post(linked, "lena", case_id, "transfer", giver=user_id(linked, "axel"),
                 receiver=user_id(linked, "alma")) == 302
    assert assigned(linked, case_id) == {"alma"}
    assert holds(linked, case_id, "alma") and not holds(linked, case_id, "axel")


def test_an_excluded_person_is_not_offered_for_transfer(linked: Linked, axel: Staff) -> None:
    case_id = report(linked, exclude=("anna",))
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    page = client(linked, "lena").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="transfer-receiver"' in page and user_id(linked, "axel") in page
    assert user_id(linked, "anna") not in page and ">Anna<" not in page


def test_an_excluded_person_posted_to_transfer_is_refused_and_nothing_changes(
        linked: Linked, axel: Staff) -> None:
    case_id = report(linked, exclude=("anna",))
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    before = state(linked, case_id)
    assert _post(linked, "lena", case_id, "transfer", giver=user_id(linked, "axel"),
                 receiver=user_id(linked, "anna")) == 400
    assert state(linked, case_id) == before and not holds(linked, case_id, "anna")


def test_an_excluded_person_is_refused_by_transfer_in_the_domain(linked: Linked,
                                                                 axel: Staff) -> None:
    case_id = report(linked, exclude=("anna",))
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    before = state(linked, case_id)
    with pytest.raises(InvalidInput):
        call(linked, "lena", transfer, case_id, user_id(linked, "axel"),
             user_id(linked, "anna"))
    assert state(linked, case_id) == before and assigned(linked, case_id) == {"axel"}


@pytest.mark.parametrize("action", ["unassign", "transfer"])
def test_forged_ids_wrong_role_and_wrong_unit_change_nothing(
        linked: Linked, axel: Staff, action: str, enrol: Callable[..., Staff]) -> None:
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    case_id = report(linked)
    call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    before = state(linked, case_id)
    axel_id = user_id(linked, "axel")
    fields = {"person": axel_id} if action == "unassign" else {
        "giver": axel_id, "receiver": user_id(linked, "anna")}
    forged = {k: ZERO for k in fields}
    assert _post(linked, "lena", case_id, action, **forged) == 400  # no such people
    assert _post(linked, "lena", ZERO, action, **fields) == 403  # no such case
    assert _post(linked, "anna", case_id, action, **fields) == 403  # a reviewer
    assert _post(linked, "lars", case_id, action, **fields) == 403  # another unit's lead
    assert _post(linked, "lena", case_id, action, **{k: "x" * 5000 for k in fields}) == 400
    lena = client(linked, "lena")
    assert lena.post(f"/cases/{case_id}/{action}", data=fields).status_code == 400  # no CSRF
    assert lena.post(f"/cases/{case_id}/{action}", json=fields).status_code in (400, 415)
    assert state(linked, case_id) == before


def test_unassigning_someone_not_assigned_is_refused(linked: Linked) -> None:
    case_id = report(linked)
    with pytest.raises(InvalidInput):
        call(linked, "lena", unassign, case_id, user_id(linked, "anna"))


def test_a_lead_the_tipster_excluded_cannot_assign(linked: Linked, axel: Staff) -> None:
    case_id = report(linked, exclude=("lena",))
    with pytest.raises(NotPermitted):
        call(linked, "lena", assign, case_id, user_id(linked, "axel"))
    assert not holds(linked, case_id, "axel")
