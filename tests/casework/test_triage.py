"""Triage: category, agency (a typed "other" sealed, never a column), priority, labels;
links in both directions; merging a duplicate into its primary case. Every refusal is a
4xx with nothing changed; a case the person cannot read is answered as no case at all."""

from __future__ import annotations

import io
import logging
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.errors import NotPermitted
from casework.events import CaseMerged, CasesLinked, CasesUnlinked, CaseTriaged
from casework.models import Case, CaseLabel, CaseLink
from casework.triage import MAX_LABELS, TriageChoice, link, merge, triage
from casework.workflow import change_stage
from tests.intake.conftest import submit

from .conftest import csrf, services
from .events_support import a_case, only_ids_and_codes, record
from .linked import Linked
from .test_cases import _reviewer
from .workflow_support import act, database_bytes, state

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


def _new_case(linked: Linked, **report: object) -> str:
    """Submit and import one more report; the new case's id."""
    with services(linked.casework).db.session() as db:
        known = set(db.scalars(select(Case.id)))
    submit(linked.intake.test_client(), **report)
    linked.sync()
    with services(linked.casework).db.session() as db:
        (new,) = set(db.scalars(select(Case.id))) - known
    return new


def _two_cases(linked: Linked) -> tuple[str, str]:
    """Two cases of the anti-corruption team (anna reads both, lena leads)."""
    return (_new_case(linked, category="corruption", what="Kickbacks, first report"),
            _new_case(linked, category="funds", what="Kickbacks, second report"))


def _reference(linked: Linked, case_id: str) -> str:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case.reference


def _triage(client: FlaskClient, case_id: str, token: str, **fields: object) -> int:
    return client.post(f"/cases/{case_id}/triage",
                       data={"csrf_token": token, **fields}).status_code


def test_a_reader_triages_and_the_event_names_only_fields(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption")
    recorder = record(linked.casework)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    assert _triage(anna, case_id, token, category="funds", agency="kommun",
                   priority="urgent", add_label="roads 2025") == 302
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        assert (case.category, case.agency, case.priority) == ("funds", "kommun",
                                                               "urgent")
        assert db.scalars(select(CaseLabel.label)).all() == ["roads 2025"]
    (event,) = recorder.of(CaseTriaged)
    # Field names only: never the values (a typed agency is content).
    assert isinstance(event, CaseTriaged) and event.case_id == case_id
    assert sorted(event.changed) == ["agency", "category", "labels", "priority"]
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "roads 2025" in page and 'id="triage-priority">urgent' in page
    # The same form again changes nothing and says so.
    recorder.clear()
    assert _triage(anna, case_id, token, category="funds", agency="kommun",
                   priority="urgent") == 302
    assert recorder.of(CaseTriaged) == []
    assert _triage(anna, case_id, token, remove_label="roads 2025") == 302
    with services(linked.casework).db.session() as db:
        assert db.scalars(select(CaseLabel.label)).all() == []


BAD_TRIAGE = {
    "unknown category": {"category": "treason"},
    "unknown agency": {"agency": "nasa"},
    "agency name without other": {"agency": "kommun", "agency_name": "Acme"},
    "oversized agency name": {"agency": "other", "agency_name": "A" * 201},
    "unknown priority": {"priority": "asap"},
    "label with markup": {"add_label": XSS[:40]},
    "label too long": {"add_label": "a" * 41},
    "label of spaces": {"add_label": "   x   " + "!"},
    "label of other digits": {"add_label": "٣٣"},
    "removing a label not there": {"remove_label": "nothing"},
}


@pytest.mark.parametrize("name", sorted(BAD_TRIAGE))
def test_bad_triage_is_refused_with_nothing_changed(linked: Linked, name: str) -> None:
    case_id = a_case(linked, category="corruption")
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    before = state(linked.casework)
    # Valid fields beside the bad one are not applied either.
    assert _triage(anna, case_id, token, **{"priority": "high", **BAD_TRIAGE[name]}) == 400
    assert state(linked.casework) == before


def test_triage_of_another_units_case_csrf_json_and_files(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption")
    eva = _reviewer(linked, "eva")  # the ethics committee: not a reader
    token = csrf(eva, "/")
    anna = _reviewer(linked, "anna")
    anna_token = csrf(anna, f"/cases/{case_id}")
    before = state(linked.casework)
    assert _triage(eva, case_id, token, priority="high") == 403
    assert anna.post(f"/cases/{case_id}/triage", data={"priority": "high"}).status_code \
        == 400
    assert anna.post(f"/cases/{case_id}/triage",
                     json={"csrf_token": anna_token, "priority": "high"}).status_code == 415
    assert anna.post(f"/cases/{case_id}/triage",
                     data={"csrf_token": anna_token,
                           "add_label": (io.BytesIO(b"x"), "label.txt")},
                     content_type="multipart/form-data").status_code == 400
    assert state(linked.casework) == before


def test_at_most_twenty_labels(linked: Linked) -> None:
    case_id = a_case(linked, category="corruption")
    for n in range(MAX_LABELS):
        act(linked, "anna", triage, case_id, TriageChoice(add_label=f"label {n}"))
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    before = state(linked.casework)
    assert _triage(anna, case_id, token, add_label="one too many") == 400
    assert state(linked.casework) == before


def test_a_typed_agency_is_sealed_never_a_column_nor_logged(
        linked: Linked, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "AGENCYMARKER7f3a"
    case_id = a_case(linked, category="corruption")
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    assert _triage(anna, case_id, token, agency="other",
                   agency_name=f"{marker} {XSS}") == 302
    assert marker.encode() not in database_bytes(linked.casework)
    assert marker not in caplog.text
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and case.agency == "other"
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert marker in page  # decrypted for the reader
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    # A reader of another unit sees nothing of it.
    assert marker not in _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(
        as_text=True)


# --- links --------------------------------------------------------------------------------


def test_related_links_show_on_both_cases_and_unlink_removes_both(linked: Linked) -> None:
    first, second = _two_cases(linked)
    recorder = record(linked.casework)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{first}")
    assert anna.post(f"/cases/{first}/links",
                     data={"csrf_token": token, "other": _reference(linked, second),
                           "kind": "related"}).status_code == 302
    assert _reference(linked, first) in anna.get(f"/cases/{second}").get_data(as_text=True)
    assert _reference(linked, second) in anna.get(f"/cases/{first}").get_data(as_text=True)
    (event,) = recorder.of(CasesLinked)
    assert isinstance(event, CasesLinked) and only_ids_and_codes(event)
    before = state(linked.casework)
    # Linked already: a 409, nothing changed.
    assert anna.post(f"/cases/{second}/links",
                     data={"csrf_token": token, "other": _reference(linked, first),
                           "kind": "duplicate"}).status_code == 409
    assert state(linked.casework) == before
    assert anna.post(f"/cases/{second}/links/{first}/remove",
                     data={"csrf_token": token}).status_code == 302
    with services(linked.casework).db.session() as db:
        assert db.scalars(select(CaseLink)).all() == []
    assert len(recorder.of(CasesUnlinked)) == 1
    before = state(linked.casework)
    assert anna.post(f"/cases/{second}/links/{first}/remove",
                     data={"csrf_token": token}).status_code == 400
    assert state(linked.casework) == before


def test_a_case_one_cannot_read_is_answered_as_no_case(linked: Linked) -> None:
    mine = _new_case(linked, category="corruption")
    # The ethics committee's: anna does not read it.
    their_id = _new_case(linked, category="ethics")
    reference = _reference(linked, their_id)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{mine}")
    before = state(linked.casework)
    answers = [anna.post(f"/cases/{mine}/links", data={"csrf_token": token, "other": other,
                                                        "kind": "related"})
               for other in (reference, their_id, "LY-0000-0000", "0" * 32)]
    assert {a.status_code for a in answers} == {403}
    # The same page every time, but for the form token (it carries the second it was
    # signed in, so two answers a second apart differ there).
    bodies = {re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*"', r'\1"',
                     a.get_data(as_text=True)) for a in answers}
    assert len(bodies) == 1, "the answer tells a real case from none"
    assert anna.post(f"/cases/{mine}/links/{their_id}/remove",
                     data={"csrf_token": token}).status_code == 403
    assert anna.post(f"/cases/{mine}/links", data={"csrf_token": token,
                                                   "other": _reference(linked, mine),
                                                   "kind": "related"}).status_code == 400
    assert anna.post(f"/cases/{mine}/links", data={"csrf_token": token, "other": reference,
                                                   "kind": "sibling"}).status_code == 400
    assert state(linked.casework) == before


# --- merging --------------------------------------------------------------------------------


def test_a_lead_merges_a_duplicate_into_its_primary(linked: Linked) -> None:
    primary, duplicate = _two_cases(linked)
    act(linked, "anna", link, duplicate, _reference(linked, primary), "duplicate",
        with_casework=False)
    anna = _reviewer(linked, "anna")
    lena = _reviewer(linked, "lena")
    token = csrf(lena, f"/cases/{duplicate}")
    anna_token = csrf(anna, f"/cases/{duplicate}")
    # A reviewer is refused by the permission table and by the domain alike.
    before = state(linked.casework)
    assert anna.post(f"/cases/{duplicate}/merge",
                     data={"csrf_token": anna_token}).status_code == 403
    with pytest.raises(NotPermitted):
        act(linked, "anna", merge, duplicate, with_casework=False)
    # The primary cannot be merged: it duplicates nothing.
    assert lena.post(f"/cases/{primary}/merge", data={"csrf_token": token}).status_code \
        == 400
    assert state(linked.casework) == before
    recorder = record(linked.casework)
    envelopes_before = state(linked.casework)[1]
    answer = lena.post(f"/cases/{duplicate}/merge", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(primary)
    (event,) = recorder.of(CaseMerged)
    assert isinstance(event, CaseMerged) and only_ids_and_codes(event)
    with services(linked.casework).db.session() as db:
        merged = db.get(Case, duplicate)
        assert merged is not None and merged.merged_into_id == primary
        assert merged.stage == "acknowledged"  # merging does not conclude it
    assert state(linked.casework)[1] == envelopes_before  # every envelope kept
    page = lena.get(f"/cases/{primary}").get_data(as_text=True)
    assert 'id="merged-dialogue"' in page and "Tack för din rapport" in page
    before = state(linked.casework)
    assert lena.post(f"/cases/{duplicate}/merge", data={"csrf_token": token}).status_code \
        == 409
    assert lena.post(f"/cases/{duplicate}/links/{primary}/remove",
                     data={"csrf_token": token}).status_code == 409
    assert state(linked.casework) == before
    # Its own workflow goes on: the lead concludes it as a duplicate.
    act(linked, "lena", change_stage, duplicate, "concluded", "duplicate", "",
        "dismissed")
