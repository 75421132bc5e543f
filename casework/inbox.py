"""The inbox: the cases a person reads, filtered, one keyset page at a time.

Readership decides what a person sees, never the unit alone: a case appears only to
people in its report's recipient header (``case_readers``). So a reviewer the tipster
excluded does not learn that the case exists, and a case escalated to another unit (whose
readers were added to the header) appears in that unit's readers' inbox. A declared
conflict of interest hides the case from the declarer at once, as the access check
(``case_view.readable_case``) refuses it.

Every filter combination is paged by (``received_on``, ``id``) from an index that yields
rows in that order, so a page costs about the same at 1,000 and 100,000 cases (see
``bench/results/casework.md`` and ``docs/inbox.md``). Which index drives a page:

* ``mine=1`` or ``assignee=<person>``: the person's assignments (``ix_assignments_user_received``);
* ``label=``: the label's cases in date order (``ix_case_labels_label_received``);
* ``stage=`` (or ``overdue=acknowledgement``, which is a stage): ``ix_cases_stage_received``;
* ``priority=``: ``ix_cases_priority_received``;
* otherwise the person's own cases (``ix_case_readers_user_received``).

The other conditions are checked on each row reached (primary-key probes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, literal, not_, or_, select, tuple_
from sqlalchemy.orm import Session

from .case_view import refusal
from .models import (
    Assignment,
    Case,
    CaseLabel,
    Conflict,
    Escalation,
    EscalationKind,
    Membership,
    Priority,
    Role,
    Stage,
    Unit,
    User,
)
from .models.cases import (
    ACKNOWLEDGE_WITHIN,
    FEEDBACK_EXTENDED_WITHIN,
    FEEDBACK_WITHIN,
    CaseReader,
)
from .readers import READING_ROLES

__all__ = ["PAGE_SIZE", "InboxFilters", "InboxPage", "Overdue", "inbox"]

PAGE_SIZE = 50
MAX_LABEL = 40  # CaseLabel.label
CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2})_([0-9a-f]{1,32})")
PERSON_ID = re.compile(r"[0-9a-f]{1,32}")
NEWEST, OLDEST = "newest", "oldest"
SORTS = {NEWEST: NEWEST, "received": NEWEST, OLDEST: OLDEST}  # "received": older links
NO_ONE = "none"  # assignee=none: cases nobody is assigned


class Overdue(StrEnum):
    """Which legal deadline has passed (EU 2019/1937, Swedish Act 2021:890)."""

    ACKNOWLEDGEMENT = "acknowledgement"  # still received, not acknowledged after 7 days
    FEEDBACK = "feedback"  # no feedback after 3 months, not concluded
    ANY = "any"


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's filters, validated (see :func:`inbox`)."""

    unit: str | None = None
    stage: str | None = None
    assignee: str | None = None  # a person's id, or "none"
    overdue: str | None = None
    priority: str | None = None
    label: str | None = None
    mine: bool = False
    sort: str = NEWEST

    def query_args(self) -> dict[str, str]:
        """The filters as query arguments (the active ones only): for page links."""
        args = {"unit": self.unit, "stage": self.stage, "assignee": self.assignee,
                "overdue": self.overdue, "priority": self.priority, "label": self.label,
                "mine": "1" if self.mine else None,
                "sort": OLDEST if self.sort == OLDEST else None}
        return {name: value for name, value in args.items() if value}

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (for the empty state's advice)."""
        return any(v for k, v in self.query_args().items() if k != "sort")


@dataclass
class InboxPage:
    """One page of the inbox, with what its columns and its filter form need."""

    cases: list[Case]
    next_cursor: str | None
    today: dt.date
    # The units the person reads in (for the filter), and every unit's row (for labels).
    units: list[str]
    unit_rows: dict[str, Unit]
    filters: InboxFilters = field(default_factory=InboxFilters)
    labels: dict[str, list[str]] = field(default_factory=dict)
    assignees: dict[str, list[str]] = field(default_factory=dict)
    # Cases with a declared conflict not yet rekeyed: shown to leads of the case's unit.
    needs_reassignment: set[str] = field(default_factory=set)
    # A merged duplicate's primary: its reference, or None if this person does not read it.
    merged_into: dict[str, str | None] = field(default_factory=dict)
    # The assignee filter's choices: the readers of the person's units (id, name).
    people: list[tuple[str, str]] = field(default_factory=list)


def _one_of(value: str | None, allowed: Iterable[str], message: Any) -> str | None:
    if not value:
        return None
    if value not in set(allowed):
        raise refusal(message)
    return value


def _filters(session: Session, units: frozenset[str], *, unit: str | None,
             stage: str | None, assignee: str | None, overdue: str | None,
             priority: str | None, label: str | None, mine: bool | str,
             sort: str | None) -> InboxFilters:
    """Validate the filters: an unknown value is a clear 400, never a 500 or a guess."""
    unit = _one_of(unit, units, _l("choose one of your units"))
    stage = _one_of(stage, (s.value for s in Stage), _l("unknown stage"))
    overdue = _one_of(overdue, (o.value for o in Overdue), _l("unknown deadline"))
    priority = _one_of(priority, (p.value for p in Priority), _l("unknown priority"))
    if sort and sort not in SORTS:
        raise refusal(_l("unknown order"))
    if isinstance(mine, str):
        if mine not in ("", "0", "1"):
            raise refusal(_l("the personal inbox is mine=1"))
        mine = mine == "1"
    if label is not None:
        label = label.strip() or None
        if label is not None and len(label) > MAX_LABEL:
            raise refusal(_l("a label has at most %(max)s characters", max=MAX_LABEL))
    # Only a reader of the person's own units: the filter is no way to learn who else
    # exists, or what another unit's people are given.
    if assignee and assignee != NO_ONE and (
            not PERSON_ID.fullmatch(assignee) or not session.scalar(select(exists().where(
                Membership.user_id == assignee, Membership.unit_id.in_(units),
                Membership.role.in_([r.value for r in READING_ROLES]))))):
        raise refusal(_l("choose a person of your units"))
    return InboxFilters(unit=unit, stage=stage, assignee=assignee or None, overdue=overdue,
                        priority=priority, label=label, mine=mine,
                        sort=SORTS[sort] if sort else NEWEST)


def _cursor(cursor: str | None) -> tuple[dt.date, str] | None:
    if not cursor:
        return None
    found = CURSOR.fullmatch(cursor)
    try:
        if found is None:
            raise ValueError(cursor)
        return dt.date.fromisoformat(found.group(1)), found.group(2)
    except ValueError as exc:
        raise refusal(_l("the page link is not valid")) from exc


def _overdue(kind: str, today: dt.date) -> tuple[ColumnElement[bool], dt.date]:
    """The overdue condition, and the latest received_on it can hold (an index range)."""
    acknowledgement = and_(Case.stage == Stage.RECEIVED.value, Case.acknowledged_on.is_(None),
                           Case.received_on < today - ACKNOWLEDGE_WITHIN)
    # An extended case (six months, casework.deadlines) is overdue only after 182 days;
    # the index range still starts at today - 90, which holds both.
    feedback = and_(Case.feedback_on.is_(None), Case.stage != Stage.CONCLUDED.value,
                    Case.received_on < today - FEEDBACK_WITHIN,
                    or_(not_(Case.feedback_extended),
                        Case.received_on < today - FEEDBACK_EXTENDED_WITHIN))
    if kind == Overdue.ACKNOWLEDGEMENT:
        return acknowledgement, today - ACKNOWLEDGE_WITHIN
    if kind == Overdue.FEEDBACK:
        return feedback, today - FEEDBACK_WITHIN
    return or_(acknowledgement, feedback), today - ACKNOWLEDGE_WITHIN


def _query(user: User, units: frozenset[str], f: InboxFilters,
           today: dt.date) -> tuple[Select[Case], Any, Any]:
    """The page's SELECT (without keyset and limit), and its driving date and id columns."""
    assigned_to = user.id if f.mine else (f.assignee if f.assignee != NO_ONE else None)
    stage = Stage.RECEIVED.value if f.overdue == Overdue.ACKNOWLEDGEMENT else f.stage
    # Each EXISTS correlates to the case only: its own table stays in its FROM even when
    # the page is driven from that table (mine=1 with assignee=: two assignment rows).
    reads = exists().where(CaseReader.case_id == Case.id, CaseReader.user_id == user.id) \
        .correlate(Case)
    query: Select[Case]
    if assigned_to is not None:
        query = select(Case).select_from(Assignment).join(Case, Case.id == Assignment.case_id) \
            .where(Assignment.user_id == assigned_to, reads)
        day, ident = Assignment.received_on, Assignment.case_id
    elif f.label is not None:
        # The label's own rows in date order (ix_case_labels_label_received, which holds
        # a copy of the case's received_on): keyset on that index, so a page reads a page
        # of the label's entries, never all of them sorted.
        query = select(Case).select_from(CaseLabel).join(Case, Case.id == CaseLabel.case_id) \
            .where(CaseLabel.label == f.label, reads)
        day, ident = CaseLabel.received_on, CaseLabel.case_id
    elif stage is not None or f.priority is not None:
        query = select(Case).where(reads)  # ix_cases_stage_received / _priority_received
        day, ident = Case.received_on, Case.id
    else:
        query = select(Case).select_from(CaseReader).join(Case, Case.id == CaseReader.case_id) \
            .where(CaseReader.user_id == user.id)
        day, ident = CaseReader.received_on, CaseReader.case_id
    # The same scope as the access check: a case of one of the units, or escalated into
    # one of them; never one the person declared a conflict on.
    scope = units if f.unit is None else frozenset({f.unit})
    query = query.where(
        or_(Case.unit_id.in_(scope), exists().where(
            Escalation.case_id == Case.id,
            Escalation.kind.in_((EscalationKind.UNIT.value, EscalationKind.KOF.value)),
            Escalation.destination.in_(scope)).correlate(Case)),
        not_(exists().where(Conflict.case_id == Case.id, Conflict.user_id == user.id)
             .correlate(Case)))
    if stage is not None:
        query = query.where(Case.stage == stage)
    if f.priority is not None:
        query = query.where(Case.priority == f.priority)
    if f.label is not None and assigned_to is not None:
        query = query.where(exists().where(CaseLabel.case_id == Case.id,
                                           CaseLabel.label == f.label).correlate(Case))
    if f.mine and f.assignee is not None and f.assignee != user.id:
        # Both "mine" and someone else's: the cases given to both of us.
        other = f.assignee
        query = query.where(exists().where(Assignment.case_id == Case.id,
                                           Assignment.user_id == other).correlate(Case)
                            if other != NO_ONE else literal(False))
    elif f.assignee == NO_ONE:
        query = query.where(not_(exists().where(Assignment.case_id == Case.id)
                                 .correlate(Case)))
    if f.overdue is not None:
        condition, latest = _overdue(f.overdue, today)
        # The bound on the driving column too, so the index range starts there.
        query = query.where(condition, day < latest)
    return query, day, ident


def inbox(session: Session, user: User, *, unit: str | None = None, stage: str | None = None,
          sort: str | None = NEWEST, cursor: str | None = None, mine: bool | str = False,
          assignee: str | None = None, overdue: str | None = None,
          priority: str | None = None, label: str | None = None) -> InboxPage:
    """Cases ``user`` reads, filtered, one keyset page (see the module's docstring).

    Filters (all optional, combined with AND): ``unit`` (one of the person's reading
    units: cases of that unit or escalated to it), ``stage``, ``assignee`` (a reader of
    the person's units, or ``"none"`` for unassigned cases), ``overdue``
    (:class:`Overdue`), ``priority``, ``label`` (exact), ``mine`` (assigned to me),
    ``sort`` (``newest`` or ``oldest``). An unknown value is refused (400).
    """
    units = user.units_with(*READING_ROLES)
    f = _filters(session, units, unit=unit, stage=stage, assignee=assignee, overdue=overdue,
                 priority=priority, label=label, mine=mine, sort=sort)
    boundary = _cursor(cursor)
    today = dt.datetime.now(dt.UTC).date()
    rows: list[Case] = []
    more = False
    if units:
        query, day, ident = _query(user, units, f, today)
        if boundary is not None:
            # A row-value comparison lets the database seek in the driving index, so
            # page 2,000 costs what page 2 costs.
            position = tuple_(day, ident)
            after = tuple_(literal(boundary[0]), literal(boundary[1]))
            query = query.where(position > after if f.sort == OLDEST else position < after)
        order = (day.asc(), ident.asc()) if f.sort == OLDEST else (day.desc(), ident.desc())
        rows = list(session.scalars(query.order_by(*order).limit(PAGE_SIZE + 1)))
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    next_cursor = f"{rows[-1].received_on.isoformat()}_{rows[-1].id}" if more else None
    page = InboxPage(rows, next_cursor, today, sorted(units),
                     {u.id: u for u in session.scalars(select(Unit))}, f)
    _columns(session, user, page)
    page.people = [(p.id, p.display_name) for p in session.scalars(
        select(User).where(User.id.in_(select(Membership.user_id).where(
            Membership.unit_id.in_(units),
            Membership.role.in_([r.value for r in READING_ROLES]))))
        .order_by(User.display_name, User.id))] if units else []
    return page


def _columns(session: Session, user: User, page: InboxPage) -> None:
    """Labels, assignees, conflict flags and merges of the page: one query each."""
    ids = [case.id for case in page.cases]
    if not ids:
        return
    for case_id, label in session.execute(
            select(CaseLabel.case_id, CaseLabel.label).where(CaseLabel.case_id.in_(ids))
            .order_by(CaseLabel.label)):
        page.labels.setdefault(case_id, []).append(label)
    for case_id, name in session.execute(
            select(Assignment.case_id, User.display_name)
            .join(User, User.id == Assignment.user_id)
            .where(Assignment.case_id.in_(ids)).order_by(User.display_name)):
        page.assignees.setdefault(case_id, []).append(name)
    led = user.units_with(Role.UNIT_LEAD)
    flagged = [case.id for case in page.cases if case.unit_id in led]
    if flagged:
        page.needs_reassignment = set(session.scalars(
            select(Conflict.case_id).where(Conflict.case_id.in_(flagged),
                                           Conflict.rekeyed_at.is_(None)).distinct()))
    merged = {case.id: case.merged_into_id for case in page.cases if case.merged_into_id}
    if merged:
        # The primary's reference only to a reader of it: for anyone else it is a case
        # they must not learn of (the tipster may have excluded them from it).
        known = {case_id: reference for case_id, reference in session.execute(
            select(Case.id, Case.reference).where(
                Case.id.in_(set(merged.values())),
                exists().where(CaseReader.case_id == Case.id,
                               CaseReader.user_id == user.id)))}
        page.merged_into = {case_id: known.get(primary) for case_id, primary in merged.items()}
