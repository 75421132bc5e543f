"""The stages of a case, after ISO 37002, as one graph: who may move a case where, and why.

received → acknowledged → assessed → investigating → concluded, with an outcome on
conclusion and reopening (concluded → assessed or investigating). The graph is data
(:data:`GRAPH`): each allowed move names its source and target stage, who may take it,
the reason codes that may justify it and the outcomes it may record. Everything else is
refused, with a 4xx and nothing changed: the UI offers only :func:`transitions_for`, and
:func:`change_stage` checks again, because a form can be forged.

Every move records a :class:`~casework.models.StageChange` row (the reason code is a
column, for statistics; the reader's free text is sealed to the case's readers, see
``casework.reasons``), and tells the tipster in plain language through a
:class:`~common.contract.StatusUpdate` (codes only: never the reader's words).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

import crypto
from common.contract import Outcome, StatusUpdate
from common.unit_of_work import emit_on

from .case_view import CaseView, ensure_reader_tag, readable_case, refusal
from .errors import InvalidInput, NotPermitted
from .events import StageChanged
from .models import Case, ReasonCode, Role, Stage, StageChange, User
from .readers import reader_keys, report_content_key
from .reasons import MAX_REASON, seal_reason, tell_tipster
from .services import Casework

R = ReasonCode
S = Stage
O = Outcome  # noqa: E741 (the graph below reads as a table)


class Who(StrEnum):
    """Who may take a transition."""

    READER = "reader"  # any reader of the case (reviewer or unit lead)
    LEAD = "lead"  # a unit lead of the case's own unit


@dataclass(frozen=True)
class Transition:
    """One allowed move of the graph."""

    source: Stage
    target: Stage
    who: Who
    reasons: tuple[ReasonCode, ...]
    # Empty: the move records no outcome (and one sent is refused).
    outcomes: tuple[Outcome, ...] = ()

    @property
    def reopens(self) -> bool:
        """True for a move out of ``concluded`` (the outcome is cleared)."""
        return self.source == Stage.CONCLUDED


# Closing a case that was never investigated: it cannot be substantiated or not.
_CLOSE_EARLY = (R.OUTSIDE_SCOPE, R.DUPLICATE, R.WITHDRAWN, R.REFERRED_ELSEWHERE,
                R.EVIDENCE_INSUFFICIENT)
_CLOSE_EARLY_OUTCOMES = (O.DISMISSED, O.CLOSED_WITHOUT_FOLLOW_UP, O.REFERRED)
_REOPEN = (R.NEW_INFORMATION, R.HANDLING_ERROR, R.TIPSTER_REQUEST)

# The graph, once. Acknowledging and assessing are for any reader (ISO 37002's triage);
# opening an investigation, concluding and reopening commit the unit, so they are its
# lead's (the workflow roles fixed for issue 10).
GRAPH: tuple[Transition, ...] = (
    Transition(S.RECEIVED, S.ACKNOWLEDGED, Who.READER, (R.RECEIPT_CONFIRMED,)),
    Transition(S.ACKNOWLEDGED, S.ASSESSED, Who.READER,
               (R.WITHIN_SCOPE, R.NEEDS_MORE_INFORMATION)),
    Transition(S.ASSESSED, S.INVESTIGATING, Who.LEAD, (R.INVESTIGATION_OPENED,)),
    # A report plainly outside the channel's scope may be closed before anything else.
    Transition(S.RECEIVED, S.CONCLUDED, Who.LEAD, (R.OUTSIDE_SCOPE,),
               (O.CLOSED_WITHOUT_FOLLOW_UP,)),
    Transition(S.ACKNOWLEDGED, S.CONCLUDED, Who.LEAD, _CLOSE_EARLY, _CLOSE_EARLY_OUTCOMES),
    Transition(S.ASSESSED, S.CONCLUDED, Who.LEAD, _CLOSE_EARLY, _CLOSE_EARLY_OUTCOMES),
    Transition(S.INVESTIGATING, S.CONCLUDED, Who.LEAD,
               (R.EVIDENCE_SUFFICIENT, R.EVIDENCE_INSUFFICIENT, R.REFERRED_ELSEWHERE,
                R.WITHDRAWN),
               (O.SUBSTANTIATED, O.NOT_SUBSTANTIATED, O.REFERRED, O.DISMISSED)),
    Transition(S.CONCLUDED, S.ASSESSED, Who.LEAD, _REOPEN),
    Transition(S.CONCLUDED, S.INVESTIGATING, Who.LEAD, _REOPEN),
)
_BY_MOVE = {(t.source, t.target): t for t in GRAPH}


class WrongState(InvalidInput):
    """The case's state does not allow this now (409): a move not in the graph from its
    current stage (the page was stale, or someone else moved it first), a link that
    exists already, a merge that was done."""

    status = 409


def transition(source: str, target: str) -> Transition | None:
    """The graph's move from ``source`` to ``target``, if there is one."""
    try:
        return _BY_MOVE.get((Stage(source), Stage(target)))
    except ValueError:
        return None


def may_take(user: User, case: Case, move: Transition) -> bool:
    """True if ``user`` (already a reader of ``case``) may take ``move``."""
    return move.who == Who.READER or case.unit_id in user.units_with(Role.UNIT_LEAD)


def transitions_for(session: Session, user: User, case: Case) -> list[Transition]:
    """What ``user`` may do with ``case`` now (the caller checked they may read it)."""
    del session  # the graph and the person's roles decide; nothing else is read
    return [t for t in GRAPH if t.source.value == case.stage and may_take(user, case, t)]


def _parse(to_stage: str, reason_code: str, outcome: str | None) -> tuple[
        Stage, ReasonCode, Outcome | None]:
    try:
        target = Stage(to_stage)
    except ValueError as exc:
        raise refusal(_l("no such stage")) from exc
    try:
        code = ReasonCode(reason_code)
    except ValueError as exc:
        raise refusal(_l("choose a reason from the list")) from exc
    try:
        result = Outcome(outcome) if outcome else None
    except ValueError as exc:
        raise refusal(_l("choose an outcome from the list")) from exc
    return target, code, result


def _check(user: User, case: Case, target: Stage, code: ReasonCode,
           outcome: Outcome | None) -> Transition:
    """The move, if ``user`` may take it with this reason and outcome; else a refusal."""
    move = transition(case.stage, target)
    if move is None:
        raise WrongState(_l("a case in this stage cannot move there (reload the page: it "
                            "may have been moved by someone else)"))
    if not may_take(user, case, move):
        raise NotPermitted()
    if code not in move.reasons:
        raise refusal(_l("that reason does not go with this step"))
    if move.outcomes and outcome is None:
        raise refusal(_l("concluding a case needs an outcome"))
    if outcome is not None and outcome not in move.outcomes:
        raise refusal(_l("that outcome does not go with this step"))
    return move


# Directive art. 27(2) amounts, in whole kronor: ten thousand billion is beyond any case.
MAX_AMOUNT_SEK = 10**13
# Spaces a person may group thousands with ("1 250 000"), including the no-break ones a
# word processor puts there; nothing else (no decimals, signs or currency).
_GROUPING = str.maketrans("", "", " \u00a0\u202f")


def parse_amount(text: object) -> int | None:
    """An optional whole number of kronor from a form: None when blank, else 0..10^13."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    cleaned = text.translate(_GROUPING) if isinstance(text, str) and len(text) <= 32 else ""
    if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned) > MAX_AMOUNT_SEK:
        raise refusal(_l("an amount is a whole number of kronor, from 0 to 10,000,000,000,000"))
    return int(cleaned)


def change_stage(casework: Casework, session: Session, user: User,
                 key: crypto.PrivateKey | None, case_id: str, to_stage: str,
                 reason_code: str, reason_text: str, outcome: str | None = None, *,
                 damage_estimate_sek: str | None = None,
                 recovered_sek: str | None = None) -> str:
    """Move a case along the graph; return the new :class:`StageChange` row's id.

    Everything is checked before anything is written or sealed: access (the report's
    recipient header), the move, the role, the reason code, the outcome, the reason's
    length, the amounts. The free text is sealed to the verified readers; the tipster is
    told the new stage (and outcome, or that the case was reopened) from codes alone.

    A conclusion may record the estimated financial damage and the amount recovered
    (whole kronor, optional; Directive art. 27(2), for the yearly statistics only): each
    conclusion sets both (blank: not recorded). Any other move refuses them.
    """
    case = readable_case(session, user, key, case_id)
    target, code, result = _parse(to_stage, reason_code, outcome)
    move = _check(user, case, target, code, result)
    damage, recovered = parse_amount(damage_estimate_sek), parse_amount(recovered_sek)
    if target != Stage.CONCLUDED and (damage is not None or recovered is not None):
        raise refusal(_l("amounts are recorded only when a case is concluded"))
    if len(reason_text.strip()) > MAX_REASON:
        raise refusal(_l("a reason needs at most %(max)s characters", max=MAX_REASON))
    content_key = report_content_key(case, key)
    ensure_reader_tag(casework, session, case, content_key)
    readers = reader_keys(session, casework.config, case, content_key)
    today = dt.datetime.now(dt.UTC).date()
    values: dict[str, Any] = {"stage": target.value}
    if move.reopens:
        values.update(outcome=None, concluded_on=None)
    if target == Stage.CONCLUDED:
        values.update(outcome=result.value if result else None, concluded_on=today,
                      damage_estimate_sek=damage, recovered_sek=recovered)
    if target == Stage.ACKNOWLEDGED and case.acknowledged_on is None:
        values["acknowledged_on"] = today
    # Compare and set in one statement: of two people moving the same case at once, the
    # second finds the stage changed and is refused, instead of both moves being kept.
    moved = session.execute(update(Case).where(Case.id == case.id,
                                               Case.stage == move.source.value)
                            .values(**values).execution_options(synchronize_session="fetch"))
    if cast("CursorResult[Any]", moved).rowcount != 1:
        raise WrongState(_l("someone else moved this case first; reload the page"))
    reason_id = seal_reason(casework, session, case, author_id=user.id, readers=readers,
                            text=reason_text)
    status_id = tell_tipster(casework, session, case, readers=readers,
                             update=StatusUpdate(target, outcome=result,
                                                 reopened=move.reopens))
    row = StageChange(case_id=case.id, from_stage=move.source.value, to_stage=target.value,
                      outcome=result.value if result else None, reason_code=code.value,
                      reason_envelope_id=reason_id, reopened=move.reopens,
                      actor_id=user.id)
    session.add(row)
    session.flush()
    emit_on(session, StageChanged(case.id, user.id, move.source.value, target.value,
                                  code.value, outcome=result.value if result else None,
                                  reopened=move.reopens, reason_envelope_id=reason_id,
                                  status_envelope_id=status_id,
                                  damage_estimate_sek=damage, recovered_sek=recovered))
    return row.id


@dataclass
class WorkflowSection:
    """What the case page's workflow section shows: the moves offered to this person."""

    stage: str
    outcome: str | None
    concluded_on: dt.date | None
    feedback_on: dt.date | None
    transitions: list[Transition]


def workflow_section(casework: Casework, session: Session, user: User,
                     key: crypto.PrivateKey | None, view: CaseView) -> WorkflowSection:
    """The case page's section builder (``casework.case_sections``)."""
    del casework, key  # the case is open already; offering moves decrypts nothing
    case = view.case
    return WorkflowSection(case.stage, case.outcome, case.concluded_on, case.feedback_on,
                           transitions_for(session, user, case))
