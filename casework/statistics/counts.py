"""The cells of every count table, counted over a span of periods in one pass.

A release protects its period together with the year and the year's four quarters
(:func:`.disclosure_periods.family`), so publishing a quarter needs the count tables of
five periods. Counted one period at a time, that reads the year's rows twice (once as
the year, once as its quarters). Here each query reads a :class:`~.periods.Span` once
and labels every row with the period it falls in
(:func:`.stage_history.period_index`); the year's tables are then derived from its
quarters' as :data:`OVER_TIME` declares (the sum of the four, or the fourth), except the
outcomes, which the same pass counts for the year as well.
``tests/casework/test_disclosure_periods.py`` checks, on random case populations, that
every table of the family equals the one counted for that period alone.

Which cases each table counts is said in :mod:`.figures`, where the tables get their
rows, columns and words. Queries read codes and dates only, never content (checked by
``tests/casework/test_statistics_figures.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common.contract import Category, Outcome, Stage
from common.vocabulary import AGENCIES, CATEGORY_CODES, OTHER_AGENCY

from ..models import (
    Case,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    StageChange,
)
from ..models.cases import ACKNOWLEDGE_WITHIN, FEEDBACK_EXTENDED_WITHIN, FEEDBACK_WITHIN
from .disclosure_periods import OverTime
from .figures_base import days_between
from .periods import Period, Span
from .stage_history import first_moves, period_index, ranked_conclusions, reopened_since
from .tables import TOTAL

Cells: TypeAlias = dict[tuple[str, str], int]
Counts: TypeAlias = dict[str, Cells]  # table id -> its inner cells

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
assert set(AGENCY_GROUPS) == set(AGENCIES)  # noqa: S101 (every agency has its group)

OUTCOMES = tuple(o.value for o in Outcome)
ON_TIME, LATE, NOT_YET = "on-time", "late", "not-yet"
EXTENDED_ON_TIME = "on-time-extended"

# Age bands of an open case, in days since it was received: the 3-month feedback
# deadline, the extended 6 months, a year, and beyond.
AGE_BANDS = ("0-3-months", "3-6-months", "6-12-months", "over-12-months")
_YEAR = 365
# The most days each band but the last holds (an age of exactly 90 days is 0-3 months).
_BAND_DAYS = (FEEDBACK_WITHIN.days, FEEDBACK_EXTENDED_WITHIN.days, _YEAR)

RECEIVED_LINKED = ("received_by_unit_category", "received_by_agency_group",
                   "acknowledgement_by_unit", "feedback_by_unit")

# How each table of a year relates to the same table of its quarters, computed at the same
# moment (casework.statistics.disclosure_periods; a property test on random populations in
# tests/casework/test_disclosure_periods.py checks every declaration, and
# family_counts derives the year's tables by it). A new table must be declared here:
# events counted by a date or moment in the period are ADDITIVE.
OVER_TIME: dict[str, OverTime] = {
    **{t: OverTime.ADDITIVE for t in (
        *RECEIVED_LINKED, "acknowledged_by_unit", "fed_back_by_unit",
        "extensions_by_unit", "followup_opened_by_unit",
        "escalations_by_destination", "recusals_by_unit", "identity_requests")},
    # A case concluded in two quarters counts in each, in the year once (its last
    # conclusion, which is also the last of its quarter): at most the sum, cell by cell.
    "outcomes_by_unit": OverTime.AT_MOST_SUM,
    "open_by_age": OverTime.STOCK_AT_END,  # open on the last day: the year's is Q4's
    # A year's alone (art. 27(2)): no quarterly counterpart.
    **{t: OverTime.NEITHER for t in ("art27_investigations_opened",
                                     "art27_damage_recorded", "art27_recovered_recorded")},
}
# The tables every period has (what counting a span gives).
SHARED = tuple(t for t, kind in OVER_TIME.items() if kind is not OverTime.NEITHER)


def _within(span: Span, column: Any, *, moments: bool) -> ColumnElement[bool]:
    if moments:
        return and_(column >= span.start_at, column < span.end_at)
    return and_(column >= span.start, column < span.end)


def _add(out: list[Counts], span: Span, table_id: str,
         rows: Iterable[Sequence[Any]]) -> None:
    """(bucket?, row, count) result rows into each period's cells of a one-column table
    (the column is TOTAL, added here rather than selected as a literal)."""
    for row in rows:
        index, key_row, n = (row[0], row[1], row[2]) if span.many else (0, row[0], row[1])
        cells = out[index][table_id]
        key = (str(key_row), TOTAL)
        cells[key] = cells.get(key, 0) + int(n)


def _empty(span: Span) -> list[Counts]:
    return [{t: {} for t in SHARED} for _ in span.periods]


def _received(session: Session, span: Span, out: list[Counts]) -> None:
    """The four linked tables of the reports received, in ONE read of the span's cases:
    by unit and category, and agency group, acknowledgement and feedback."""
    to_ack = days_between(Case.acknowledged_on, Case.received_on)
    acked = case((Case.acknowledged_on.is_(None), NOT_YET),
                 (to_ack <= ACKNOWLEDGE_WITHIN.days, ON_TIME), else_=LATE)
    to_feedback = days_between(Case.feedback_on, Case.received_on)
    fed = case((Case.feedback_on.is_(None), NOT_YET),
               (to_feedback <= FEEDBACK_WITHIN.days, ON_TIME),
               (and_(Case.feedback_extended == true(),
                     to_feedback <= FEEDBACK_EXTENDED_WITHIN.days), EXTENDED_ON_TIME),
               else_=LATE)
    bucket = period_index(span, Case.received_on, moments=False)
    keys = (Case.unit_id, Case.category, Case.agency, acked, fed)
    rows = session.execute(select(*bucket, *keys, func.count())
                           .where(_within(span, Case.received_on, moments=False))
                           .group_by(*bucket, *keys)).all()
    for row in rows:
        index, rest = (int(row[0]), tuple(row[1:])) if span.many else (0, tuple(row))
        unit, category, agency, ack, feedback, n = rest
        category = category if category in CATEGORY_CODES else Category.OTHER.value
        group = AGENCY_GROUPS.get(agency or OTHER_AGENCY, OTHER_GROUP)
        for table_id, column in (("received_by_unit_category", category),
                                 ("received_by_agency_group", group),
                                 ("acknowledgement_by_unit", ack),
                                 ("feedback_by_unit", feedback)):
            cells = out[index][table_id]
            cells[(unit, column)] = cells.get((unit, column), 0) + int(n)


def _by_unit(session: Session, span: Span, out: list[Counts], table_id: str,
             entity: Any, moment: Any) -> None:
    """Rows of ``entity`` (with a ``case_id``) made in the span, per case unit."""
    bucket = period_index(span, moment, moments=True)
    _add(out, span, table_id, session.execute(
        select(*bucket, Case.unit_id, func.count()).select_from(entity)
        .join(Case, Case.id == entity.case_id)
        .where(_within(span, moment, moments=True))
        .group_by(*bucket, Case.unit_id)))


def _by_day(session: Session, span: Span, out: list[Counts], table_id: str,
            day: Any) -> None:
    """Cases whose ``day`` (a DATE) falls in the span, per unit."""
    bucket = period_index(span, day, moments=False)
    _add(out, span, table_id, session.execute(
        select(*bucket, Case.unit_id, func.count())
        .where(_within(span, day, moments=False)).group_by(*bucket, Case.unit_id)))


def _by_code(session: Session, span: Span, out: list[Counts], table_id: str,
             code: Any, moment: Any) -> None:
    """Rows made in the span, per ``code`` (a destination, a status)."""
    bucket = period_index(span, moment, moments=True)
    _add(out, span, table_id, session.execute(
        select(*bucket, code, func.count())
        .where(_within(span, moment, moments=True)).group_by(*bucket, code)))


def _outcomes(session: Session, span: Span, out: list[Counts]) -> Cells:
    """Outcomes per period of the span (a case's last conclusion in it), and the cells
    of the whole span (its last conclusion in the span), returned, from the same rows."""
    last = ranked_conclusions(span)
    whole: Cells = {}
    for bucket, final, unit, outcome, n in session.execute(
            select(last.c.bucket, last.c.last_of_span, Case.unit_id, last.c.outcome,
                   func.count()).select_from(last)
            .join(Case, Case.id == last.c.case_id)
            .where(last.c.outcome.in_(OUTCOMES))
            .group_by(last.c.bucket, last.c.last_of_span, Case.unit_id, last.c.outcome)):
        key = (str(unit), str(outcome))
        cells = out[int(bucket)]["outcomes_by_unit"]
        cells[key] = cells.get(key, 0) + int(n)
        if final:
            whole[key] = whole.get(key, 0) + int(n)
    return whole


def _followup(session: Session, span: Span, out: list[Counts]) -> None:
    opened = first_moves(span, (Stage.ASSESSED, Stage.INVESTIGATING))
    bucket = period_index(span, opened.c.at, moments=True)
    _add(out, span, "followup_opened_by_unit", session.execute(
        select(*bucket, opened.c.unit_id, func.count()).group_by(*bucket, opened.c.unit_id)))


def _open_at_ends(session: Session, span: Span, out: list[Counts]) -> None:
    """Cases open at the end of each period of the span, by unit and age band.

    Open at an end: received before it, and its last stage change before the end (if
    any) is not a conclusion. The database answers with counts per unit and band at
    each end, never a row per case. Where the case row answers, nothing else is read:

    * a case concluded before the span began and not moved since (stage concluded,
      ``concluded_on`` before the start; a later move would have reopened it) is closed
      at every end, and not even read (two index ranges, ``ix_cases_stage_received`` and
      ``ix_cases_stage_concluded``, find the others);
    * a case concluded now, by an end, was closed then (not moved since);
    * otherwise a case not reopened since the span began (:func:`reopened_since`) was
      open at an end it was received before;
    * only a reopened case looks up its last move before each end, one index seek each
      (``ix_stage_changes_case_at``).
    """
    concluded = Stage.CONCLUDED.value
    # A concluded case without its day (never written so by casework.workflow) is read
    # from its history too, rather than guessed open.
    from_history = or_(Case.id.in_(reopened_since(span.start_at)),
                       and_(Case.stage == concluded, Case.concluded_on.is_(None)))
    bands: list[ColumnElement[str | None]] = []
    for period in span.periods:
        last_day = period.end - dt.timedelta(days=1)
        last_move = (select(StageChange.to_stage)
                     .where(StageChange.case_id == Case.id, StageChange.at < period.end_at)
                     .order_by(StageChange.at.desc()).limit(1)
                     .correlate(Case).scalar_subquery())
        # An age in days is (last_day - received_on); its band's bounds as receipt days.
        bands.append(case(
            (Case.received_on >= period.end, None),
            # Concluded now and by the end, not moved since: closed then.
            (and_(Case.stage == concluded, Case.concluded_on < period.end), None),
            # Otherwise a case not reopened since the start was open; a reopened one
            # was unless its last move before the end concluded it.
            (and_(from_history, func.coalesce(last_move, "") == concluded), None),
            *((Case.received_on >= last_day - dt.timedelta(days=days), band)
              for days, band in zip(_BAND_DAYS, AGE_BANDS[:-1], strict=True)),
            else_=AGE_BANDS[-1]).label(f"band_{len(bands)}"))
    # Two index ranges (ix_cases_stage_received, ix_cases_stage_concluded), never a
    # scan of every case: the cases open now, and those concluded since the start.
    unsettled = or_(Case.stage.in_([s.value for s in Stage if s != Stage.CONCLUDED]),
                    and_(Case.stage == concluded, Case.concluded_on >= span.start),
                    and_(Case.stage == concluded, Case.concluded_on.is_(None)))
    # MATERIALIZED: folded into the grouping, each band would be computed twice per case
    # (SQLite, PostgreSQL), and SQLite would read every case in unit order instead of
    # the two index ranges below.
    banded = (select(Case.unit_id, *bands)
              # A duplicate merged into its primary is handled as the primary: not counted.
              .where(Case.received_on < span.end, Case.merged_into_id.is_(None), unsettled)
              .cte("banded").prefix_with("MATERIALIZED"))
    keys = [banded.c.unit_id, *(banded.c[f"band_{i}"] for i in range(len(bands)))]
    for unit, *found, n in session.execute(select(*keys, func.count()).group_by(*keys)):
        for band, counts in zip(found, out, strict=True):
            if band is not None:
                cells = counts["open_by_age"]
                cells[(str(unit), band)] = cells.get((str(unit), band), 0) + int(n)


def count_span(session: Session, span: Span) -> tuple[list[Counts], Cells]:
    """Every shared table's cells for each period of the span, and the outcomes of the
    span as a whole."""
    out = _empty(span)
    _received(session, span, out)
    # The cases whose days to acknowledgement and to feedback a period's durations
    # describe: their counts are those figures' n, protected as count tables are.
    _by_day(session, span, out, "acknowledged_by_unit", Case.acknowledged_on)
    _by_day(session, span, out, "fed_back_by_unit", Case.feedback_on)
    _by_unit(session, span, out, "extensions_by_unit", FeedbackExtension,
             FeedbackExtension.extended_at)
    _followup(session, span, out)
    whole = _outcomes(session, span, out)
    _by_code(session, span, out, "escalations_by_destination", Escalation.destination,
             Escalation.at)
    _by_unit(session, span, out, "recusals_by_unit", Conflict, Conflict.declared_at)
    _by_code(session, span, out, "identity_requests", IdentityRequest.status,
             IdentityRequest.requested_at)
    _open_at_ends(session, span, out)
    return out, whole


def count_period(session: Session, period: Period) -> Counts:
    """Every shared table's cells for one period, counted on its own."""
    return count_span(session, Span.of(period))[0][0]


def family_counts(session: Session, year: Period) -> dict[Period, Counts]:
    """Every shared table's cells for a year and each of its quarters, from one pass
    over the year: a quarter's as counted; the year's derived by :data:`OVER_TIME`
    (the sum of its quarters, or its fourth quarter's), but the outcomes, counted for
    the year in the same pass."""
    quarters = year.quarters()
    per_quarter, whole = count_span(session, Span(quarters))
    derived: Counts = {}
    for table_id in SHARED:
        kind = OVER_TIME[table_id]
        if kind is OverTime.ADDITIVE:
            cells: Cells = {}
            for counts in per_quarter:
                for key, n in counts[table_id].items():
                    cells[key] = cells.get(key, 0) + n
            derived[table_id] = cells
        elif kind is OverTime.STOCK_AT_END:
            derived[table_id] = dict(per_quarter[-1][table_id])
        elif table_id == "outcomes_by_unit":  # AT_MOST_SUM: counted for the year
            derived[table_id] = whole
        else:  # pragma: no cover (a new declaration needs its year counted here)
            raise ValueError(f"no way to derive the year's {table_id}")
    return {year: derived, **dict(zip(quarters, per_quarter, strict=True))}
