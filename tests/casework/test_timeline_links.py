"""A link shows on both cases' timelines: logged under the case it was made from, worded
from the other side on the case it names. Real links through the domain and the audit log.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from casework.models import AuditEntry, Case
from casework.timeline import TimelineItem
from casework.triage import link, unlink

from .conftest import services
from .linked import Linked
from .test_timeline import _new_case, _page_items, _timeline, _user_id
from .workflow_support import act


def _links(items: list[TimelineItem]) -> list[tuple[str, str, str]]:
    return [(i.action, i.actor, i.description) for i in items
            if i.action in ("cases_linked", "cases_unlinked")]


def _reference(linked: Linked, case_id: str) -> str:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case.reference


def test_a_link_and_its_removal_show_on_both_cases(linked: Linked) -> None:
    first, second = _new_case(linked), _new_case(linked, what="Related matter")
    third = _new_case(linked, what="Unrelated")
    ref_first, ref_second = _reference(linked, first), _reference(linked, second)
    act(linked, "eva", link, first, second, "related", with_casework=False)
    act(linked, "eva", unlink, first, second, with_casework=False)
    assert _links(_timeline(linked, "erik", first)) == [
        ("cases_linked", "Eva", f"Linked to case {ref_second} (related)"),
        ("cases_unlinked", "Eva", f"Link to case {ref_second} removed")]
    mirrored = [i for i in _timeline(linked, "erik", second)
                if i.action in ("cases_linked", "cases_unlinked")]
    assert _links(mirrored) == [
        ("cases_linked", "Eva", f"Linked from case {ref_first} (related)"),
        ("cases_unlinked", "Eva", f"Link from case {ref_first} removed")]
    # Not labelled as an entry of a merged case: the link is the other case's own.
    assert all(i.case_reference is None for i in mirrored)
    assert _links(_timeline(linked, "erik", third)) == []
    # On the page too, in order.
    page = [(a, t) for a, t in _page_items(linked, "erik", second) if a.startswith("cases_")]
    assert [a for a, _t in page] == ["cases_linked", "cases_unlinked"]
    assert ref_first in page[0][1]


def test_a_duplicate_shows_on_its_primary_case_worded_from_there(linked: Linked) -> None:
    primary, duplicate = _new_case(linked), _new_case(linked, what="The same again")
    ref_primary, ref_duplicate = _reference(linked, primary), _reference(linked, duplicate)
    act(linked, "eva", link, duplicate, primary, "duplicate", with_casework=False)
    assert _links(_timeline(linked, "eva", duplicate)) == [
        ("cases_linked", "Eva", f"Marked as a duplicate of case {ref_primary}")]
    assert _links(_timeline(linked, "eva", primary)) == [
        ("cases_linked", "Eva", f"Case {ref_duplicate} was marked as a duplicate of this case")]


def test_an_entry_that_names_the_case_elsewhere_in_its_details_is_not_shown(
        linked: Linked) -> None:
    ours, theirs, elsewhere = (_new_case(linked, what=w) for w in ("A", "B", "C"))
    # Written straight into the log (a later version, or tampering): the id of "ours"
    # appears in the text, but not as the entry's linked case.
    with services(linked.casework).db.session() as db:
        seq = (db.scalar(select(func.max(AuditEntry.seq))) or 0) + 1
        for offset, details in enumerate((
                '{"kind":"related","linked_case_id":"' + elsewhere
                + '","x":{"linked_case_id":"' + ours + '"}}',
                '{"kind":"related","linked_case_id":"' + ours + '"',  # not JSON
                json.dumps({"kind": "<script>", "linked_case_id": ours},
                           separators=(",", ":")))):
            db.add(AuditEntry(seq=seq + offset, actor_id=_user_id(linked, "eva"),
                              action="cases_linked", case_id=theirs, details=details,
                              prev_hash=b"\0" * 32, hash=(seq + offset).to_bytes(32, "big")))
    items = _links(_timeline(linked, "eva", ours))
    # Only the third names "ours" as its linked case; its kind is unknown: a generic line.
    assert len(items) == 1 and "<script>" not in items[0][2]
    assert "Linked from" not in items[0][2]
