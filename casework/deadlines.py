"""The two legal deadlines of a case, what is due for a reminder, and the extension.

EU Directive 2019/1937 Art. 11(2) and the Swedish Act 2021:890: receipt is acknowledged
to the reporter within seven days (``Case.acknowledge_by``), and feedback is given
within three months, six "in duly justified cases" (``Case.feedback_by``). This module
answers two questions without sending anything:

* which (case, deadline) pairs are due for a reminder e-mail today (:func:`due_reminders`),
  and whom to tell (:func:`recipients`); ``casework.reminders`` composes and sends;
* whether a lead may extend a case's feedback deadline, and does it
  (:func:`extend_feedback_deadline`).

A reminder is about one deadline of one case and is sent once: a :class:`ReminderSent`
row (case, kind, deadline) says so. An extension moves the feedback deadline, so the
new deadline may be reminded of again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, and_, exists, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from common.unit_of_work import emit_on

from .assignment import hold_case, open_as_lead
from .case_view import refusal
from .errors import CaseworkError
from .events import FeedbackDeadlineExtended
from .models import (
    Assignment,
    Case,
    Conflict,
    ExtensionReasonCode,
    FeedbackExtension,
    Membership,
    ReminderKind,
    ReminderSent,
    Role,
    Stage,
    User,
)
from .models.cases import (
    ACKNOWLEDGE_WITHIN,
    FEEDBACK_EXTENDED_WITHIN,
    FEEDBACK_WITHIN,
    CaseReader,
)
from .readers import reader_keys
from .reasons import seal_reason
from .services import Casework

__all__ = ["EXTENSION_REASONS", "AlreadyExtended", "Due", "due_reminders",
           "extend_feedback_deadline", "extension_of", "recipients", "today"]

EXTENSION_REASONS: dict[str, LazyString] = {
    ExtensionReasonCode.COMPLEX_INVESTIGATION: _l("the investigation is complex"),
    ExtensionReasonCode.AWAITING_EXTERNAL: _l("waiting for another authority or an expert"),
    ExtensionReasonCode.VOLUME_OF_MATERIAL: _l("the volume of material"),
    ExtensionReasonCode.OTHER: _l("another reason (explained)"),
}
# Reminders about one kind of deadline, and whether it is the overdue one.
OVERDUE = frozenset({ReminderKind.ACKNOWLEDGE_OVERDUE, ReminderKind.FEEDBACK_OVERDUE})


class AlreadyExtended(CaseworkError):
    """The feedback deadline of a case is extended once, never twice (409)."""

    status = 409
    title = _l("The deadline was already extended")
    explanation = _l("The feedback deadline of a case can be extended once, to six months. "
                     "Nothing was changed.")


def today() -> dt.date:
    """Today in UTC: the day the inbox's overdue filter and the reminders count from."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Due:
    """One deadline of one case that is due for a reminder (ids and dates only)."""

    case_id: str
    unit_id: str
    kind: ReminderKind
    deadline: dt.date

    @property
    def key(self) -> tuple[str, str, dt.date]:
        """The :class:`ReminderSent` primary key that records this reminder."""
        return self.case_id, self.kind.value, self.deadline


def _open() -> ColumnElement[bool]:
    # Purged cases keep their row for statistics, but nobody works them any more.
    return Case.purged_on.is_(None)


def _not_reminded(kind: ReminderKind) -> ColumnElement[bool]:
    return not_(exists().where(ReminderSent.case_id == Case.id,
                               ReminderSent.kind == kind.value).correlate(Case))


def _acknowledgements(session: Session, day: dt.date, soon_days: int) -> list[Due]:
    """Cases still waiting for their acknowledgement: soon, or overdue."""
    # The acknowledgement deadline never moves: any row for (case, kind) is the one.
    waiting = and_(_open(), Case.stage == Stage.RECEIVED.value,
                   Case.acknowledged_on.is_(None))
    overdue_before = day - ACKNOWLEDGE_WITHIN  # received before this: the deadline passed
    found: list[Due] = []
    for kind, window in (
            (ReminderKind.ACKNOWLEDGE_OVERDUE, Case.received_on < overdue_before),
            (ReminderKind.ACKNOWLEDGE_SOON,
             and_(Case.received_on >= overdue_before,
                  Case.received_on <= overdue_before + dt.timedelta(days=soon_days)))):
        for case_id, unit_id, received in session.execute(
                select(Case.id, Case.unit_id, Case.received_on)
                .where(waiting, window, _not_reminded(kind)).order_by(Case.id)):
            found.append(Due(case_id, unit_id, kind, received + ACKNOWLEDGE_WITHIN))
    return found


def _feedback(session: Session, day: dt.date, soon_days: int) -> list[Due]:
    """Cases still waiting for feedback: soon, or overdue (three or six months)."""
    waiting = and_(_open(), Case.feedback_on.is_(None), Case.stage != Stage.CONCLUDED.value)
    found: list[Due] = []
    for extended, within in ((False, FEEDBACK_WITHIN), (True, FEEDBACK_EXTENDED_WITHIN)):
        overdue_before = day - within
        flavour = Case.feedback_extended if extended else not_(Case.feedback_extended)
        for kind, window in (
                (ReminderKind.FEEDBACK_OVERDUE, Case.received_on < overdue_before),
                (ReminderKind.FEEDBACK_SOON,
                 and_(Case.received_on >= overdue_before,
                      Case.received_on <= overdue_before + dt.timedelta(days=soon_days)))):
            query = select(Case.id, Case.unit_id, Case.received_on).where(
                waiting, flavour, window)
            if not extended:
                # Never extended: any row for (case, kind) was about this very deadline.
                query = query.where(_not_reminded(kind))
            rows = [Due(case_id, unit_id, kind, received + within)
                    for case_id, unit_id, received in session.execute(query.order_by(Case.id))]
            if extended and rows:
                # An extended case may hold a row about its old three-month deadline: only
                # a row about the new deadline counts (few cases are ever extended).
                sent = _sent(session, [d.case_id for d in rows], kind)
                rows = [d for d in rows if d.key not in sent]
            found.extend(rows)
    return found


def _sent(session: Session, case_ids: list[str],
          kind: ReminderKind) -> set[tuple[str, str, dt.date]]:
    sent: set[tuple[str, str, dt.date]] = set()
    for start in range(0, len(case_ids), 500):
        sent.update((c, k, d) for c, k, d in session.execute(
            select(ReminderSent.case_id, ReminderSent.kind, ReminderSent.deadline).where(
                ReminderSent.case_id.in_(case_ids[start:start + 500]),
                ReminderSent.kind == kind.value)))
    return sent


def due_reminders(session: Session, day: dt.date, *, acknowledge_days: int,
                  feedback_days: int) -> list[Due]:
    """Every deadline due for a reminder on ``day`` and not yet reminded of.

    "Soon": the deadline is at most ``acknowledge_days`` (``feedback_days``) ahead, today
    included. "Overdue": the deadline has passed (the inbox's overdue filter, to the day).
    A case already past its deadline gets the overdue reminder only. Only cases still
    waiting count: not acknowledged and still received; no feedback and not concluded.
    """
    return [*_acknowledgements(session, day, acknowledge_days),
            *_feedback(session, day, feedback_days)]


def recipients(session: Session, due: Iterable[Due]) -> dict[str, list[Due]]:
    """Who is told of what: by user id, the due items of the cases they are told about.

    A case's assignees and the unit leads of its unit, each only if they are active, have
    an e-mail address, READ the case (their key is in the report's header: a person the
    tipster left out does not learn from a count that the case exists) and have not
    declared a conflict of interest on it.
    """
    items = list(due)
    by_case: dict[str, list[Due]] = defaultdict(list)
    for item in items:
        by_case[item.case_id].append(item)
    told: dict[str, list[Due]] = defaultdict(list)
    ids = sorted(by_case)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        reachable = and_(User.active.is_(True), User.email.is_not(None),
                         exists().where(CaseReader.case_id == Case.id,
                                        CaseReader.user_id == User.id),
                         not_(exists().where(Conflict.case_id == Case.id,
                                             Conflict.user_id == User.id)))
        assigned = select(Case.id, User.id).select_from(Assignment) \
            .join(Case, Case.id == Assignment.case_id) \
            .join(User, User.id == Assignment.user_id) \
            .where(Case.id.in_(chunk), reachable)
        leads = select(Case.id, User.id).select_from(Case) \
            .join(Membership, and_(Membership.unit_id == Case.unit_id,
                                   Membership.role == Role.UNIT_LEAD.value)) \
            .join(User, User.id == Membership.user_id) \
            .where(Case.id.in_(chunk), reachable)
        pairs = {(case_id, user_id) for query in (assigned, leads)
                 for case_id, user_id in session.execute(query)}
        for case_id, user_id in sorted(pairs):
            told[user_id].extend(by_case[case_id])
    return dict(told)


def extension_of(session: Session, case_id: str) -> FeedbackExtension | None:
    """The case's feedback extension, if it was extended."""
    return session.get(FeedbackExtension, case_id)


def _reason_code(code: str) -> ExtensionReasonCode:
    try:
        return ExtensionReasonCode(code)
    except ValueError:
        raise refusal(_l("choose a reason from the list")) from None


def extend_feedback_deadline(casework: Casework, session: Session, user: User,
                             key: crypto.PrivateKey | None, case_id: str, reason_code: str,
                             reason_text: str) -> dt.date:
    """A lead of the case's unit extends its feedback deadline to six months, once.

    Art. 11(2)(d) allows six months "in duly justified cases": the justification is the
    lead's to give (the person answerable for the unit's deadlines), so a reviewer is
    refused (403), as is a lead of another unit or one the tipster left out. The reason
    code goes on the row (statistics count it); the explanation is sealed to the case's
    readers; ``other`` needs one. Refused with nothing changed: a second extension (409),
    a case whose feedback was given or that is concluded (409), a case whose three-month
    deadline has already passed (409: an extension is decided before the deadline, never
    to cover up a missed one), an unknown code or an oversized text (400). Returns the
    new deadline.
    """
    opened = open_as_lead(casework, session, user, key, case_id)
    case = opened.case
    reason = _reason_code(reason_code)
    text = reason_text.strip() if isinstance(reason_text, str) else ""
    if reason == ExtensionReasonCode.OTHER and not text:
        raise refusal(_l("explain the reason when it is another reason"))
    hold_case(session, case)  # a second extension at the same time waits for this one
    if case.feedback_extended or extension_of(session, case.id) is not None:
        raise AlreadyExtended()
    if case.feedback_on is not None or case.stage == Stage.CONCLUDED.value:
        raise _too_late(_l("Feedback was already given or the case is concluded: there is "
                           "no deadline left to extend. Nothing was changed."))
    if today() > case.received_on + FEEDBACK_WITHIN:
        raise _too_late(_l("The three-month deadline has passed: an extension is decided "
                           "before it. Nothing was changed."))
    readers = reader_keys(session, casework.config, case, opened.report_key)
    reason_id = seal_reason(casework, session, case, author_id=user.id, readers=readers,
                            text=text)
    case.feedback_extended = True
    session.add(FeedbackExtension(case_id=case.id, reason_code=reason.value,
                                  reason_envelope_id=reason_id, extended_by=user.id))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another extension committed first (the row lock should have made us wait).
        raise AlreadyExtended() from None
    emit_on(session, FeedbackDeadlineExtended(case.id, user.id, reason.value, reason_id))
    return case.feedback_by


class _TooLate(CaseworkError):
    status = 409
    title = _l("The deadline cannot be extended")


def _too_late(message: LazyString) -> CaseworkError:
    error = _TooLate()
    error.explanation = message
    return error
