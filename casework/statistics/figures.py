"""The figures of issue 12, each one SQL aggregation over case metadata.

Every query reads rows of codes and dates only (cases, stage changes, escalations,
conflicts, feedback extensions, identity requests) and never an envelope, a reference or
free text; what leaves this module is counts per unit, category, outcome, ... for a whole
period (``tests/casework/test_statistics_figures.py`` checks the SQL issued).

Which cases a figure counts, in short (each figure's note says it in plain words):

- *received*: ``received_on`` in the period. Four tables count these same cases, by
  unit and by category, agency group, acknowledgement and feedback; they share their
  row margins, so they are ``linked`` and must be protected consistently.
- *opened*, *concluded*: events of the period from the stage changes (a case's first
  move to assessed or investigating; its last conclusion in the period), so the figures
  of a past period do not change when a case is later reopened.
- *escalations*, *recusals*, *extensions*, *identity requests*: the rows made in the
  period.
- *open at the period's end*: the stage the case had at the end, from its stage changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common.contract import Category, Outcome, Stage
from common.vocabulary import AGENCIES, CATEGORY_CODES, OTHER_AGENCY

from ..config import ReferralAuthority
from ..i18n import CATEGORY_LABELS, OUTCOME_LABELS
from ..models import (
    Case,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    IdentityRequestStatus,
)
from ..models.cases import ACKNOWLEDGE_WITHIN, FEEDBACK_EXTENDED_WITHIN, FEEDBACK_WITHIN
from .disclosure_periods import OverTime
from .figures_annual import annual_figures, first_moves, last_conclusions
from .figures_base import (
    ACKNOWLEDGEMENT,
    AGENCY_GROUP,
    CATEGORY,
    DESTINATION,
    FEEDBACK,
    OUTCOME,
    REQUEST_STATUS,
    UNIT,
    AmountFigure,
    DaysFigure,
    Figure,
    Labels,
    Units,
    at_moments,
    by_language,
    cells_of,
    days_between,
    on_days,
)
from .figures_time import days_figures, open_by_age
from .periods import Period
from .tables import TOTAL, CountTable

__all__ = ["AGENCY_GROUPS", "AmountFigure", "AnyFigure", "DaysFigure", "Figure", "figures",
           "tables_of"]

AnyFigure = Figure | DaysFigure | AmountFigure

# Agency groups: the kinds of public body a report is about. The national agencies of
# common.vocabulary.AGENCIES are one group; municipalities and regions their own; "other"
# is everything else: another agency, or none named. A new agency in the vocabulary must
# be put in a group here (tests/casework/test_statistics_figures.py checks it).
NATIONAL, MUNICIPAL, REGIONAL, OTHER_GROUP = "national", "municipal", "regional", "other"
AGENCY_GROUPS: dict[str, str] = {
    "arbetsformedlingen": NATIONAL, "forsakringskassan": NATIONAL,
    "migrationsverket": NATIONAL, "polismyndigheten": NATIONAL, "skatteverket": NATIONAL,
    "trafikverket": NATIONAL, "kommun": MUNICIPAL, "region": REGIONAL,
    OTHER_AGENCY: OTHER_GROUP,
}
GROUP_ORDER = (NATIONAL, MUNICIPAL, REGIONAL, OTHER_GROUP)
GROUP_LABELS = {NATIONAL: _l("Government agencies"), MUNICIPAL: _l("Municipalities"),
                REGIONAL: _l("Regions"), OTHER_GROUP: _l("Another body, or none named")}
assert set(AGENCY_GROUPS) == set(AGENCIES)  # noqa: S101 (every agency has its group)

OUTCOMES = tuple(o.value for o in Outcome)
ON_TIME, LATE, NOT_YET = "on-time", "late", "not-yet"
EXTENDED_ON_TIME = "on-time-extended"
ACK_COLUMNS = (ON_TIME, LATE, NOT_YET)
ACK_LABELS = {ON_TIME: _l("Within 7 days"), LATE: _l("Later than 7 days"),
              NOT_YET: _l("Not yet acknowledged")}
FEEDBACK_COLUMNS = (ON_TIME, EXTENDED_ON_TIME, LATE, NOT_YET)
FEEDBACK_LABELS = {ON_TIME: _l("Within 3 months"),
                   EXTENDED_ON_TIME: _l("Within an extended 6 months"),
                   LATE: _l("Late"), NOT_YET: _l("No feedback yet")}
REQUEST_ROWS = tuple(s.value for s in (IdentityRequestStatus.APPROVED,
                                       IdentityRequestStatus.REFUSED,
                                       IdentityRequestStatus.WITHDRAWN,
                                       IdentityRequestStatus.PENDING))
REQUEST_LABELS = {IdentityRequestStatus.APPROVED.value: _l("Approved"),
                  IdentityRequestStatus.REFUSED.value: _l("Refused"),
                  IdentityRequestStatus.WITHDRAWN.value: _l("Withdrawn"),
                  IdentityRequestStatus.PENDING.value: _l("Not yet decided")}
RECEIVED_LINKED = ("received_by_unit_category", "received_by_agency_group",
                   "acknowledgement_by_unit", "feedback_by_unit")
CASES = _l("cases")

# How each table of a year relates to the same table of its quarters, computed at the same
# moment (casework.statistics.disclosure_periods; a property test on random populations in
# tests/casework/test_disclosure_periods.py checks every declaration). A new table must be
# declared here: events counted by a date or moment in the period are ADDITIVE.
OVER_TIME: dict[str, OverTime] = {
    **{t: OverTime.ADDITIVE for t in (
        *RECEIVED_LINKED, "extensions_by_unit", "followup_opened_by_unit",
        "escalations_by_destination", "recusals_by_unit", "identity_requests")},
    # A case concluded in two quarters counts in each, in the year once (its last
    # conclusion, which is also the last of its quarter): at most the sum, cell by cell.
    "outcomes_by_unit": OverTime.AT_MOST_SUM,
    "open_by_age": OverTime.STOCK_AT_END,  # open on the last day: the year's is Q4's
    # A year's alone (art. 27(2)): no quarterly counterpart.
    **{t: OverTime.NEITHER for t in ("art27_investigations_opened",
                                     "art27_damage_recorded", "art27_recovered_recorded")},
}


def _linked(table_id: str) -> tuple[str, ...]:
    return tuple(t for t in RECEIVED_LINKED if t != table_id)


def _by_unit(table_id: str, units: Units, cells: dict[tuple[str, str], int]) -> CountTable:
    """A one-dimensional table of counts per unit."""
    return CountTable(table_id, units.rows(r for r, _ in cells), (TOTAL,), cells)


def _counted_by_unit(session: Session, entity: Any, condition: ColumnElement[bool]
                     ) -> dict[tuple[str, str], int]:
    """Rows of ``entity`` (with a ``case_id``) meeting ``condition``, per case unit."""
    return cells_of((unit, TOTAL, n) for unit, n in session.execute(
        select(Case.unit_id, func.count()).select_from(entity)
        .join(Case, Case.id == entity.case_id).where(condition).group_by(Case.unit_id)))


def received(session: Session, period: Period, units: Units) -> list[Figure]:
    """Reports received, by unit and category, and by unit and agency group; and the
    retaliation reports, a slice of the first (protected with it, never on its own)."""
    in_period = on_days(Case.received_on, period)
    by_category = cells_of(
        (unit, category if category in CATEGORY_CODES else Category.OTHER.value, n)
        for unit, category, n in session.execute(
            select(Case.unit_id, Case.category, func.count()).where(in_period)
            .group_by(Case.unit_id, Case.category)))
    by_group = cells_of(
        (unit, AGENCY_GROUPS.get(agency or OTHER_AGENCY, OTHER_GROUP), n)
        for unit, agency, n in session.execute(
            select(Case.unit_id, Case.agency, func.count()).where(in_period)
            .group_by(Case.unit_id, Case.agency)))
    rows = units.rows(r for r, _ in by_category)
    categories = CountTable("received_by_unit_category", rows, CATEGORY_CODES, by_category,
                            _linked("received_by_unit_category"))
    groups = CountTable("received_by_agency_group", rows, GROUP_ORDER, by_group,
                        _linked("received_by_agency_group"))
    category_labels = {**units.labels, **CATEGORY_LABELS}
    return [
        Figure(categories.id, _l("Reports received, by unit and category"),
               _l("Every report received in the period (in writing or orally), counted "
                  "once, by the unit it was filed with and the category it has now."),
               categories, CASES, UNIT, CATEGORY, category_labels),
        Figure(groups.id, _l("Reports received, by unit and the kind of body reported"),
               _l("The same reports, by the kind of public body they are about: "
                  "government agencies, municipalities, regions, or another body (also "
                  "when the report names none)."),
               groups, CASES, UNIT, AGENCY_GROUP, {**units.labels, **GROUP_LABELS}),
        Figure("retaliation_by_unit", _l("Reports of retaliation, by unit"),
               _l("Reports received in the period in the category retaliation: a reporter "
                  "says they were punished for reporting. The same counts as that column "
                  "of the reports received."),
               categories, CASES, UNIT, CATEGORY, category_labels,
               (Category.RETALIATION.value,)),
    ]


def deadlines(session: Session, period: Period, units: Units) -> list[Figure]:
    """Of the cases received in the period: acknowledged within 7 days, and given
    feedback within 3 (or an extended 6) months; and extensions granted in the period."""
    in_period = on_days(Case.received_on, period)
    to_ack = days_between(Case.acknowledged_on, Case.received_on)
    acked = case((Case.acknowledged_on.is_(None), NOT_YET),
                 (to_ack <= ACKNOWLEDGE_WITHIN.days, ON_TIME), else_=LATE)
    to_feedback = days_between(Case.feedback_on, Case.received_on)
    fed = case((Case.feedback_on.is_(None), NOT_YET),
               (to_feedback <= FEEDBACK_WITHIN.days, ON_TIME),
               (and_(Case.feedback_extended == true(),
                     to_feedback <= FEEDBACK_EXTENDED_WITHIN.days), EXTENDED_ON_TIME),
               else_=LATE)
    tables = []
    for table_id, status, columns in (("acknowledgement_by_unit", acked, ACK_COLUMNS),
                                      ("feedback_by_unit", fed, FEEDBACK_COLUMNS)):
        cells = cells_of(session.execute(
            select(Case.unit_id, status, func.count()).where(in_period)
            .group_by(Case.unit_id, status)))
        tables.append(CountTable(table_id, units.rows(r for r, _ in cells), columns, cells,
                                 _linked(table_id)))
    extended = _counted_by_unit(session, FeedbackExtension,
                                at_moments(FeedbackExtension.extended_at, period))
    return [
        Figure(tables[0].id, _l("Receipt acknowledged within 7 days"),
               _l("Of the reports received in the period: how many were acknowledged "
                  "to the reporter within the 7 days the law allows, later, or not yet."),
               tables[0], CASES, UNIT, ACKNOWLEDGEMENT, {**units.labels, **ACK_LABELS}),
        Figure(tables[1].id, _l("Feedback within 3 months"),
               _l("Of the reports received in the period: how many reporters were given "
                  "feedback within 3 months, within 6 months where the deadline was "
                  "extended for a recorded reason, later, or not yet."),
               tables[1], CASES, UNIT, FEEDBACK, {**units.labels, **FEEDBACK_LABELS}),
        Figure("extensions_by_unit", _l("Feedback deadlines extended to 6 months"),
               _l("How many times in the period a unit extended a case's feedback "
                  "deadline from 3 to 6 months, with a recorded reason."),
               _by_unit("extensions_by_unit", units, extended), CASES, UNIT,
               labels=units.labels),
    ]


def handling(session: Session, period: Period, units: Units,
             authorities: Sequence[ReferralAuthority]) -> list[Figure]:
    """Follow-up opened, outcomes, escalations and referrals, recusals."""
    opened = first_moves(period, (Stage.ASSESSED, Stage.INVESTIGATING))
    followed = cells_of((unit, TOTAL, n) for unit, n in session.execute(
        select(Case.unit_id, func.count()).join(opened, opened.c.case_id == Case.id)
        .group_by(Case.unit_id)))
    last = last_conclusions(period)
    outcomes = cells_of(session.execute(
        select(Case.unit_id, last.c.outcome, func.count()).select_from(last)
        .join(Case, Case.id == last.c.case_id)
        .where(last.c.outcome.in_(OUTCOMES))
        .group_by(Case.unit_id, last.c.outcome)))
    sent = cells_of((destination, TOTAL, n) for destination, n in session.execute(
        select(Escalation.destination, func.count())
        .where(at_moments(Escalation.at, period)).group_by(Escalation.destination)))
    destinations = _destinations(units, authorities, (r for r, _ in sent))
    recusals = _counted_by_unit(session, Conflict, at_moments(Conflict.declared_at, period))
    outcome_table = CountTable("outcomes_by_unit", units.rows(r for r, _ in outcomes),
                               OUTCOMES, outcomes)
    return [
        Figure("followup_opened_by_unit", _l("Follow-up opened"),
               _l("Cases whose follow-up began in the period: the report was assessed or "
                  "an investigation was opened for the first time."),
               _by_unit("followup_opened_by_unit", units, followed), CASES, UNIT,
               labels=units.labels),
        Figure(outcome_table.id, _l("Outcomes of concluded cases"),
               _l("Cases concluded in the period, by their outcome (a case concluded twice "
                  "in the period counts once, with its last outcome)."),
               outcome_table, CASES, UNIT, OUTCOME, {**units.labels, **OUTCOME_LABELS}),
        Figure("escalations_by_destination", _l("Escalations and referrals"),
               _l("Cases sent in the period to another unit, to KOF, or referred to an "
                  "authority outside, by where they were sent. A case sent to two places "
                  "counts for each."),
               CountTable("escalations_by_destination", destinations, (TOTAL,), sent),
               _l("escalations"), DESTINATION, labels=_destination_labels(units,
                                                                          authorities)),
        Figure("recusals_by_unit", _l("Conflicts of interest declared"),
               _l("How many times in the period a reader declared a conflict of interest "
                  "on a case and stepped aside from it."),
               _by_unit("recusals_by_unit", units, recusals), _l("declarations"), UNIT,
               labels=units.labels),
    ]


def _destinations(units: Units, authorities: Sequence[ReferralAuthority],
                  counted: Iterable[str]) -> tuple[str, ...]:
    # Every unit and configured authority has its row (destination codes and unit ids do
    # not overlap: authorities are outside bodies); an authority since removed from the
    # configuration keeps its row where it has a count.
    known = units.ids + tuple(a.code for a in authorities if a.code not in units.ids)
    return known + tuple(sorted(set(counted) - set(known)))


def _destination_labels(units: Units, authorities: Sequence[ReferralAuthority]) -> Labels:
    # Authorities' names are proper names, given in both languages by the configuration.
    return {**{a.code: LazyString(by_language, a.name_sv, a.name_en) for a in authorities},
            **units.labels}


def identity_requests(session: Session, period: Period) -> Figure:
    """Identity requests made in the period, by where they stand now."""
    cells = cells_of((status, TOTAL, n) for status, n in session.execute(
        select(IdentityRequest.status, func.count())
        .where(at_moments(IdentityRequest.requested_at, period))
        .group_by(IdentityRequest.status)))
    rows = REQUEST_ROWS + tuple(sorted({r for r, _ in cells} - set(REQUEST_ROWS)))
    return Figure("identity_requests", _l("Requests to learn a reporter's identity"),
                  _l("Requests made in the period to read a confidential reporter's "
                     "identity (each needs a second person's approval), by the decision."),
                  CountTable("identity_requests", rows, (TOTAL,), cells), _l("requests"),
                  REQUEST_STATUS, labels=REQUEST_LABELS)


def figures(session: Session, period: Period, *,
            authorities: Sequence[ReferralAuthority] = (),
            counts_only: bool = False) -> list[AnyFigure]:
    """Every figure of ``period``, in the order a report shows them; the art. 27(2)
    figures only for a year. ``authorities``: the configured referral authorities
    (``casework.config.referral_authorities``), so each has its row even at zero.
    ``counts_only``: only the count tables a year shares with its quarters (what
    protecting another period of the family needs), no durations, no art. 27(2)."""
    units = Units.load(session)
    receipts = received(session, period, units)
    handled = handling(session, period, units, authorities)
    found: list[AnyFigure] = [*receipts, *handled,
                              *deadlines(session, period, units),
                              *([] if counts_only else days_figures(session, period, units)),
                              open_by_age(session, period, units),
                              identity_requests(session, period)]
    if period.kind == "year" and not counts_only:
        found.extend(annual_figures(session, period, units, receipts[0].table,
                                    handled[1].table))
    return found


def tables_of(found: Iterable[AnyFigure]) -> list[CountTable]:
    """Each count table once (a slice shares its table), in order: what to protect."""
    tables: dict[str, CountTable] = {}
    for figure in found:
        if isinstance(figure, Figure):
            tables.setdefault(figure.table.id, figure.table)
    return list(tables.values())
