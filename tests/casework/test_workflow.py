"""The ISO 37002 workflow: every move of the graph by the role allowed, every forbidden
one refused with a 4xx and nothing changed, the tipster told in codes, the reader's
reason sealed and never in plaintext; and a property test over random sequences."""

from __future__ import annotations

import io
import logging
import re
from collections import deque

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import crypto
from casework.cases import reply
from casework.errors import CaseworkError, NotPermitted
from casework.events import FeedbackRecorded, StageChanged
from casework.i18n import LINK_KIND_LABELS, PRIORITY_LABELS, REASON_LABELS
from casework.models import (
    Case,
    CaseEnvelope,
    LinkKind,
    Priority,
    ReasonCode,
    Stage,
    StageChange,
)
from casework.reasons import read_reason
from casework.workflow import GRAPH, Who, WrongState, change_stage, transitions_for
from common.contract import Outcome

from .conftest import csrf, services
from .events_support import a_case, only_ids_and_codes, record
from .linked import Linked
from .test_cases import _reviewer
from .workflow_support import act, database_bytes, set_stage, state

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


def _corruption_case(linked: Linked) -> str:
    """A case of the anti-corruption team: anna reads (reviewer), lena leads."""
    return a_case(linked, category="corruption", what="Kickbacks on road contracts")


def _post_move(client: FlaskClient, case_id: str, token: str, **fields: str) -> int:
    return client.post(f"/cases/{case_id}/stage",
                       data={"csrf_token": token, **fields}).status_code


# --- the graph ------------------------------------------------------------------------


def test_the_graph_is_one_table_that_reaches_every_stage() -> None:
    moves = [(t.source, t.target) for t in GRAPH]
    assert len(moves) == len(set(moves)), "a move is defined twice"
    reached, todo = {Stage.RECEIVED}, deque([Stage.RECEIVED])
    while todo:
        here = todo.popleft()
        for t in GRAPH:
            if t.source == here and t.target not in reached:
                reached.add(t.target)
                todo.append(t.target)
    assert reached == set(Stage)
    for t in GRAPH:
        assert t.reasons, t
        assert bool(t.outcomes) == (t.target == Stage.CONCLUDED), t
        assert t.reopens == (t.source == Stage.CONCLUDED)
        assert t.who == Who.LEAD or t.target in (Stage.ACKNOWLEDGED, Stage.ASSESSED)
    # Every outcome is reachable, and every workflow reason code is used somewhere.
    assert {o for t in GRAPH for o in t.outcomes} == set(Outcome)


def test_labels_cover_every_reason_priority_and_link_kind_in_both_languages() -> None:
    # Both languages come from the same msgids; the coordinator's catalogue check
    # (tests/*/test_i18n.py) covers that the Swedish ones are translated.
    for enum, table in ((ReasonCode, REASON_LABELS), (Priority, PRIORITY_LABELS),
                        (LinkKind, LINK_KIND_LABELS)):
        assert set(table) == {member.value for member in enum}, enum.__name__


# --- every allowed move ----------------------------------------------------------------


@pytest.mark.parametrize("move", GRAPH, ids=lambda t: f"{t.source}-{t.target}")
def test_every_move_by_its_role(linked: Linked, move: object) -> None:
    from casework.workflow import Transition

    assert isinstance(move, Transition)
    case_id = _corruption_case(linked)
    set_stage(linked.casework, case_id, move.source.value,
              Outcome.DISMISSED.value if move.source == Stage.CONCLUDED else None)
    recorder = record(linked.casework)
    outcome = move.outcomes[0].value if move.outcomes else None
    if move.who == Who.LEAD:  # a reviewer of the unit is refused, nothing changed
        before = state(linked.casework)
        with pytest.raises(NotPermitted):
            act(linked, "anna", change_stage, case_id, move.target.value,
                move.reasons[0].value, "no", outcome)
        assert state(linked.casework) == before
    who = "anna" if move.who == Who.READER else "lena"
    row_id = act(linked, who, change_stage, case_id, move.target.value,
                 move.reasons[-1].value, f"because {move.target}", outcome)
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        row = db.get(StageChange, row_id)
        assert case is not None and row is not None
        assert case.stage == move.target.value
        assert (row.from_stage, row.to_stage, row.reason_code, row.reopened) == (
            move.source.value, move.target.value, move.reasons[-1].value, move.reopens)
        assert case.outcome == outcome and row.outcome == outcome
        assert (case.concluded_on is not None) == (move.target == Stage.CONCLUDED)
        if move.target == Stage.ACKNOWLEDGED:
            assert case.acknowledged_on is not None
        reason = db.get(CaseEnvelope, row.reason_envelope_id)
        assert reason is not None and reason.kind == "reason" and reason.delivered is True
        assert read_reason(services(linked.casework), reason,
                           linked.staff["anna"].key) == f"because {move.target}"
    (event,) = recorder.of(StageChanged)
    assert isinstance(event, StageChanged) and only_ids_and_codes(event)
    assert (event.from_stage, event.to_stage, event.outcome, event.reopened) == (
        move.source.value, move.target.value, outcome, move.reopens)
    with services(linked.casework).db.session() as db:
        status = db.get(CaseEnvelope, event.status_envelope_id)
        assert status is not None and status.kind == "status" and status.delivered is False


def test_transitions_offered_follow_the_role(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    set_stage(linked.casework, case_id, Stage.ASSESSED.value)
    with services(linked.casework).db.session() as db:
        from casework.models import User

        case = db.get(Case, case_id)
        anna = db.scalar(select(User).where(User.username == "anna"))
        lena = db.scalar(select(User).where(User.username == "lena"))
        assert case is not None and anna is not None and lena is not None
        assert transitions_for(db, anna, case) == []
        assert {t.target for t in transitions_for(db, lena, case)} == {
            Stage.INVESTIGATING, Stage.CONCLUDED}
    anna_page = _reviewer(linked, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
    lena_page = _reviewer(linked, "lena").get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'name="to_stage"' not in anna_page and 'id="workflow-none"' in anna_page
    assert 'value="investigating"' in lena_page and 'value="concluded"' in lena_page
    assert "The tipster is told" in lena_page


# --- forbidden moves: a 4xx and nothing changed ------------------------------------------


FORBIDDEN = {
    # name: (who, stage the case is in, form fields, status)
    "reviewer concludes": ("anna", "assessed", {"to_stage": "concluded",
                                                "reason_code": "outside-scope",
                                                "outcome": "dismissed"}, 403),
    "other unit": ("eva", "acknowledged", {"to_stage": "assessed",
                                           "reason_code": "within-scope"}, 403),
    "skips a stage": ("lena", "acknowledged", {"to_stage": "investigating",
                                               "reason_code": "investigation-opened"}, 409),
    "backwards": ("lena", "investigating", {"to_stage": "assessed",
                                            "reason_code": "new-information"}, 409),
    "same stage": ("anna", "acknowledged", {"to_stage": "acknowledged",
                                            "reason_code": "receipt-confirmed"}, 409),
    "unknown stage": ("anna", "acknowledged", {"to_stage": "archived",
                                               "reason_code": "within-scope"}, 400),
    "wrong reason": ("anna", "acknowledged", {"to_stage": "assessed",
                                              "reason_code": "duplicate"}, 400),
    "unknown reason": ("anna", "acknowledged", {"to_stage": "assessed",
                                                "reason_code": "because"}, 400),
    "no reason": ("anna", "acknowledged", {"to_stage": "assessed"}, 400),
    "missing outcome": ("lena", "investigating", {"to_stage": "concluded",
                                                  "reason_code": "evidence-sufficient"}, 400),
    "wrong outcome": ("lena", "investigating", {
        "to_stage": "concluded", "reason_code": "evidence-sufficient",
        "outcome": "closed-without-follow-up"}, 400),
    "unknown outcome": ("lena", "investigating", {
        "to_stage": "concluded", "reason_code": "evidence-sufficient",
        "outcome": "guilty"}, 400),
    "extra outcome": ("anna", "acknowledged", {"to_stage": "assessed",
                                               "reason_code": "within-scope",
                                               "outcome": "dismissed"}, 400),
    "oversized reason": ("anna", "acknowledged", {"to_stage": "assessed",
                                                  "reason_code": "within-scope",
                                                  "reason": "x" * 4_001}, 400),
    "reopen an open case": ("lena", "assessed", {"to_stage": "investigating",
                                                 "reason_code": "new-information"}, 400),
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_forbidden_moves_are_refused_with_nothing_changed(linked: Linked, name: str) -> None:
    who, stage, fields, status = FORBIDDEN[name]
    case_id = _corruption_case(linked)
    set_stage(linked.casework, case_id, stage)
    client = _reviewer(linked, who)
    token = csrf(client, "/")
    _reviewer(linked, "lena").get(f"/cases/{case_id}")  # the reader tag is set by now
    before = state(linked.casework)
    assert _post_move(client, case_id, token, **fields) == status
    assert state(linked.casework) == before


def test_forged_case_ids_get_the_same_answer(linked: Linked) -> None:
    _corruption_case(linked)
    lena = _reviewer(linked, "lena")
    token = csrf(lena, "/")
    before = state(linked.casework)
    for forged in ("0" * 32, "../../etc", "x" * 300):
        assert _post_move(lena, forged, token, to_stage="assessed",
                          reason_code="within-scope") in (403, 404)
    assert state(linked.casework) == before


def test_csrf_json_and_files_are_refused(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    before = state(linked.casework)
    fields = {"to_stage": "assessed", "reason_code": "within-scope"}
    assert anna.post(f"/cases/{case_id}/stage", data=fields).status_code == 400
    assert anna.post(f"/cases/{case_id}/stage",
                     json={"csrf_token": token, **fields}).status_code == 415
    assert anna.post(f"/cases/{case_id}/stage",
                     data={"csrf_token": token, **fields,
                           "reason": (io.BytesIO(b"a file"), "reason.txt")},
                     content_type="multipart/form-data").status_code == 400
    assert state(linked.casework) == before


def test_bad_utf8_in_a_field_is_never_a_server_error(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    before = state(linked.casework)
    form = "application/x-www-form-urlencoded"
    # A stage or code that is not UTF-8 names nothing: refused, nothing changed.
    for raw in (b"to_stage=assess%ff&reason_code=within-scope",
                b"to_stage=assessed&reason_code=within%c3%28scope"):
        body = b"csrf_token=" + token.encode() + b"&" + raw
        assert anna.post(f"/cases/{case_id}/stage", data=body,
                         content_type=form).status_code == 400
    assert state(linked.casework) == before
    # A reason that is not UTF-8 is read leniently (as every form field) and sealed.
    body = (b"csrf_token=" + token.encode()
            + b"&to_stage=assessed&reason_code=within-scope&reason=caf%e9")
    assert anna.post(f"/cases/{case_id}/stage", data=body, content_type=form).status_code \
        == 302


def test_two_moves_from_the_same_stage_keep_only_the_first(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    set_stage(linked.casework, case_id, Stage.ASSESSED.value)
    lena = _reviewer(linked, "lena")
    token = csrf(lena, f"/cases/{case_id}")
    assert _post_move(lena, case_id, token, to_stage="investigating",
                      reason_code="investigation-opened") == 302
    # The same form sent again (a double click, or a second tab): stale now.
    assert _post_move(lena, case_id, token, to_stage="investigating",
                      reason_code="investigation-opened") == 409
    with services(linked.casework).db.session() as db:
        assert db.scalars(select(StageChange.to_stage)).all() == ["investigating"]


# --- what is told, what is sealed -----------------------------------------------------------


def test_the_reason_text_is_never_in_plaintext(linked: Linked,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "REASON-MARKER-" + crypto.PrivateKey.generate().public_key.key_id_hex[:12]
    case_id = _corruption_case(linked)
    anna = _reviewer(linked, "anna")
    assert _post_move(anna, case_id, csrf(anna, f"/cases/{case_id}"), to_stage="assessed",
                      reason_code="within-scope", reason=f"{marker} {XSS}") == 302
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    # Shown to the reader (the timeline decrypts it), escaped.
    assert marker in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert marker.encode() not in database_bytes(linked.casework)
    assert marker not in caplog.text
    root = services(linked.casework).store.root
    assert all(marker.encode() not in p.read_bytes() for p in root.rglob("*") if p.is_file())
    # Never in the dialogue or the notes: the tipster is told the stage only.
    dialogue = re.search(r'id="dialogue">(.*?)</ol>', page, re.S)
    notes = re.search(r'id="notes">(.*?)</ul>', page, re.S)
    assert dialogue and notes
    assert marker not in dialogue.group(1) and marker not in notes.group(1)
    assert "Told the tipster: assessed." in dialogue.group(1)
    linked.sync()
    intake_root = linked.intake.extensions["lykta.intake"].store.root
    assert all(marker.encode() not in p.read_bytes()
               for p in intake_root.rglob("*") if p.is_file())


def test_status_items_are_shown_not_counted_unreadable(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    act(linked, "anna", change_stage, case_id, "assessed", "within-scope", "")
    act(linked, "lena", change_stage, case_id, "concluded", "outside-scope", "",
        "closed-without-follow-up")
    page = _reviewer(linked, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Told the tipster: concluded, outcome closed without follow-up." in page
    assert "could not be read" not in page.lower() and "unreadable" not in page.lower()
    act(linked, "lena", change_stage, case_id, "investigating", "new-information", "")
    page = _reviewer(linked, "anna").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "the case was reopened (investigating)" in page


def test_reopening_clears_the_outcome(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    set_stage(linked.casework, case_id, "investigating")
    act(linked, "lena", change_stage, case_id, "concluded", "evidence-sufficient", "",
        "substantiated")
    act(linked, "lena", change_stage, case_id, "assessed", "tipster-request", "")
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        assert (case.stage, case.outcome, case.concluded_on) == ("assessed", None, None)


# --- the feedback is the reader's choice ----------------------------------------------------


def test_a_reply_is_feedback_only_when_marked(linked: Linked) -> None:
    case_id = _corruption_case(linked)
    recorder = record(linked.casework)
    anna = _reviewer(linked, "anna")
    token = csrf(anna, f"/cases/{case_id}")
    anna.post(f"/cases/{case_id}/reply", data={"csrf_token": token,
                                                "reply-text": "Which year?"})
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and case.feedback_on is None
    assert recorder.of(FeedbackRecorded) == []
    anna.post(f"/cases/{case_id}/reply", data={"csrf_token": token, "reply-feedback": "y",
                                                "reply-text": "We have opened an inquiry."})
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and case.feedback_on is not None
        first = case.feedback_on
    (event,) = recorder.of(FeedbackRecorded)
    assert isinstance(event, FeedbackRecorded) and only_ids_and_codes(event)
    # A second marked reply is recorded too, but the feedback date stays the first.
    act(linked, "anna", reply, case_id, "More news.", feedback=True)
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and case.feedback_on == first


# --- a property test over random sequences ------------------------------------------------

ATTEMPT = st.tuples(st.sampled_from(["anna", "lena", "eva"]), st.sampled_from(list(Stage)),
                    st.sampled_from(list(ReasonCode)),
                    st.one_of(st.none(), st.sampled_from(list(Outcome))))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(attempts=st.lists(ATTEMPT, min_size=1, max_size=8))
def test_random_attempts_never_reach_an_invalid_state(
        linked: Linked, attempts: list[tuple[str, Stage, ReasonCode, Outcome | None]]) -> None:
    case_ids = _the_case(linked)
    case_id = case_ids[0]
    for who, target, code, outcome in attempts:
        before = state(linked.casework)
        try:
            act(linked, who, change_stage, case_id, target.value, code.value, "why",
                outcome.value if outcome else None)
        except (CaseworkError, WrongState) as refused:
            assert 400 <= refused.status < 500
            assert state(linked.casework) == before
        _check_invariants(linked, case_id)


def _the_case(linked: Linked) -> list[str]:
    """One case for the whole test: hypothesis runs every example on the same fixture,
    so the case carries each example's history into the next (the invariants must hold
    from any state the graph reaches)."""
    if not hasattr(linked, "workflow_case"):
        linked.workflow_case = [_corruption_case(linked)]  # type: ignore[attr-defined]
    found: list[str] = linked.workflow_case  # type: ignore[attr-defined]
    return found


def _check_invariants(linked: Linked, case_id: str) -> None:
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        rows = db.scalars(select(StageChange).where(StageChange.case_id == case_id)
                          .order_by(StageChange.at, StageChange.id)).all()
        # The rows replay, move by move along the graph, to the current stage (the
        # automatic acknowledgement at import is the start: it writes no row).
        stage = Stage.ACKNOWLEDGED.value
        for row in sorted(rows, key=lambda r: r.at):
            assert row.from_stage == stage
            move = next(t for t in GRAPH if (t.source.value, t.target.value)
                        == (row.from_stage, row.to_stage))
            assert row.reason_code in move.reasons
            assert (row.outcome is None) == (not move.outcomes)
            stage = row.to_stage
        assert stage == case.stage
        assert (case.outcome is not None) == (case.stage == Stage.CONCLUDED.value)
        assert (case.concluded_on is not None) == (case.stage == Stage.CONCLUDED.value)
