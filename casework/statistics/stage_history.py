"""What a case's stage changes say about its path through a span of periods.

The count tables of :mod:`.counts` and the figures of :mod:`.figures_time` and
:mod:`.figures_annual` read a period's stage changes, never the whole history: the
first moves to a stage in it, the last conclusion of each case in each of its periods,
and the few cases reopened since it began (whose history the case row does not
summarise). Codes, ids and moments only; nothing here leaves the database but what the
callers count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Select,
    Subquery,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from common.contract import Stage

from ..models import Case, StageChange
from .periods import Period, Span


def period_index(span: Span, column: Any, *, moments: bool) -> list[ColumnElement[int]]:
    """The index of the span's period ``column`` falls in, as a column to select and
    group by; none for a span of one period (every row is in it)."""
    if not span.many:
        return []
    bounds = [p.end_at if moments else p.end for p in span.periods[:-1]]
    return [case(*((column < bound, i) for i, bound in enumerate(bounds)),
                 else_=len(bounds)).label("bucket")]


def first_moves(span: Span | Period, stages: Iterable[Stage]) -> Subquery:
    """Per case whose first move to one of ``stages`` was in the span: that move's
    moment and the case's unit (``case_id``, ``unit_id``, ``at``).

    A move to those stages in the span, and none before it; the first of the span's is
    the first ever, so it names the period of the span the follow-up began in. Read from
    the span's rows of the index by stage and moment (``ix_stage_changes_stage_at``),
    and, for a case received before the span (one received in it has no earlier move),
    its earlier history from its own (``ix_stage_changes_case_at``); never the whole
    table.
    """
    codes = [s.value for s in stages]
    earlier = aliased(StageChange)
    # A scalar subquery (LIMIT 1), not NOT EXISTS: PostgreSQL turns NOT EXISTS into a
    # hash anti-join over every earlier move (the whole history) when the period is a
    # large share of it; a scalar subquery is looked up per row of the period.
    before = (select(earlier.id).where(earlier.case_id == StageChange.case_id,
                                       earlier.at < span.start_at,
                                       earlier.to_stage.in_(codes))
              .limit(1).correlate(StageChange).scalar_subquery())
    return (select(StageChange.case_id, Case.unit_id, func.min(StageChange.at).label("at"))
            .join(Case, Case.id == StageChange.case_id)
            .where(StageChange.to_stage.in_(codes), StageChange.at >= span.start_at,
                   StageChange.at < span.end_at,
                   or_(Case.received_on >= span.start, before.is_(None)))
            .group_by(StageChange.case_id, Case.unit_id).subquery())


def reopened_since(moment: dt.datetime) -> Select[str]:
    """The cases reopened (moved out of ``concluded``) at or after ``moment``, from the
    index by origin stage and moment (``ix_stage_changes_from_at``).

    A case that was not has a simple history from then on: only a reopening leaves
    ``concluded`` (:mod:`casework.workflow`), so it was concluded at most once since
    ``moment`` (and that conclusion is its last), and its row's stage and
    ``concluded_on`` say whether it was open at any later end. Only the few reopened
    cases need their history read.
    """
    return select(StageChange.case_id).where(
        StageChange.from_stage == Stage.CONCLUDED.value, StageChange.at >= moment)


def ranked_conclusions(span: Span) -> Subquery:
    """Per case and period of the span in which it was concluded, its last conclusion
    there (``case_id``, ``at``, ``outcome``, ``bucket``), and whether that is also its
    last in the whole span (``last_of_span``).

    From the stage changes, not the case row: the case row holds only the latest
    conclusion, and a case reopened later would otherwise drop out of a past period.
    Only the span's conclusions are read, from the index by stage and moment
    (``ix_stage_changes_stage_at``). A case not reopened since the span began was
    concluded at most once in it (:func:`reopened_since`): its conclusion is the last of
    its period and of the span as it stands. Only the reopened cases' conclusions are
    ranked per case (and period), latest first; ranking every case cost a sort of the
    span's conclusions, twice, most of the time of counting the outcomes.
    """
    bucket = period_index(span, StageChange.at, moments=True)
    label = (bucket[0] if bucket else literal_column("0")).label("bucket")
    in_span = and_(StageChange.to_stage == Stage.CONCLUDED.value,
                   StageChange.at >= span.start_at, StageChange.at < span.end_at)
    reopened = reopened_since(span.start_at)
    once = select(StageChange.case_id, StageChange.at, StageChange.outcome, label,
                  true().label("last_of_span")
                  ).where(in_span, StageChange.case_id.not_in(reopened))
    order = (StageChange.at.desc(), StageChange.id.desc())
    in_period = func.row_number().over(partition_by=(StageChange.case_id, *bucket),
                                       order_by=order)
    in_whole = func.row_number().over(partition_by=StageChange.case_id, order_by=order)
    ranked = (select(StageChange.case_id, StageChange.at, StageChange.outcome, label,
                     in_period.label("rank"), in_whole.label("span_rank"))
              .where(in_span, StageChange.case_id.in_(reopened)).subquery())
    many = (select(ranked.c.case_id, ranked.c.at, ranked.c.outcome, ranked.c.bucket,
                   (ranked.c.span_rank == 1).label("last_of_span"))
            .where(ranked.c.rank == 1))
    return union_all(once, many).subquery()


def last_conclusions(period: Period) -> Subquery:
    """Per case concluded in the period, its last conclusion there (``case_id``, ``at``,
    ``outcome``): :func:`ranked_conclusions` of the period alone."""
    return ranked_conclusions(Span.of(period))
