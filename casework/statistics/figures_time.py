"""Figures of time: days to acknowledgement, feedback and closure, and open cases by age.

Durations are whole days between two dates casework already stores (received, and
acknowledged, feedback given, or the day of the last conclusion); the median and the
90th percentile are computed here, per unit, from those differences, which the query
counts (no date is read into memory): a figure carries counts and days only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from ..models import Case
from .figures_base import (
    AGE_BAND,
    UNIT,
    DaysFigure,
    DaysGroup,
    Figure,
    Units,
    day_of,
    days_between,
    median,
    on_days,
    percentile,
)
from .periods import Period
from .stage_history import last_conclusions
from .tables import TOTAL, CountTable

AGE_LABELS = {"0-3-months": _l("Up to 3 months"), "3-6-months": _l("3 to 6 months"),
              "6-12-months": _l("6 to 12 months"), "over-12-months": _l("Over 12 months")}


def _groups(units: Units, counted: Iterable[tuple[str, int, int]]) -> dict[str, DaysGroup]:
    """(unit, days, how many cases) rows as (n, median, p90) per unit and for all units
    (TOTAL)."""
    by_unit: dict[str, list[int]] = {}
    for unit, days, n in counted:
        by_unit.setdefault(unit, []).extend([max(0, days)] * n)  # before receipt: 0
    groups: dict[str, DaysGroup] = {}
    everything: list[int] = []
    for unit in units.rows(by_unit):
        ordered = sorted(by_unit.get(unit, []))
        everything.extend(ordered)
        groups[unit] = (len(ordered), median(ordered), percentile(ordered, 0.9)) \
            if ordered else (0, None, None)
    everything.sort()
    groups[TOTAL] = (len(everything), median(everything), percentile(everything, 0.9)) \
        if everything else (0, None, None)
    return groups


def days_figures(session: Session, period: Period, units: Units) -> list[DaysFigure]:
    """Median and 90th percentile days to acknowledgement, feedback and closure, of the
    cases that reached that event in the period."""
    # The days are counted in the query, and how many cases took each: only (unit,
    # days, count) rows come back, never a date.
    def histogram(days: Any, where: Any, last: Any = None) -> Any:
        query = select(Case.unit_id, days, func.count())
        if last is not None:
            query = query.select_from(last).join(Case, Case.id == last.c.case_id)
        return session.execute(query.where(where).group_by(Case.unit_id, days))

    acknowledged = histogram(days_between(Case.acknowledged_on, Case.received_on),
                             on_days(Case.acknowledged_on, period))
    fed_back = histogram(days_between(Case.feedback_on, Case.received_on),
                         on_days(Case.feedback_on, period))
    last = last_conclusions(period)
    closed = histogram(days_between(day_of(last.c.at), Case.received_on), true(), last)
    found = []
    for figure_id, rows, title, note, counted in (
        ("days_to_acknowledgement", acknowledged, _l("Days to acknowledgement"),
         _l("For reports acknowledged in the period: how many days after receipt the "
            "reporter was told it had arrived (the law allows 7). The median is the "
            "middle case; 9 in 10 cases took at most the 90th percentile."),
         "acknowledged_by_unit"),
        ("days_to_feedback", fed_back, _l("Days to feedback"),
         _l("For reporters given feedback in the period: how many days after receipt "
            "(the law allows 3 months, or 6 in duly justified cases)."),
         "fed_back_by_unit"),
        ("days_to_closure", closed, _l("Days to closure"),
         _l("For cases concluded in the period: how many days from receipt to the (last) "
            "conclusion."), "outcomes_by_unit"),
    ):
        histogram_rows = ((str(unit), int(days), int(n)) for unit, days, n in rows)
        found.append(DaysFigure(figure_id, title, note, _groups(units, histogram_rows),
                                units.labels, UNIT, counted))
    return found


def open_by_age(tables: dict[str, CountTable], units: Units) -> Figure:
    """Cases open at the end of the period, by unit and how long since receipt
    (counted with the other tables by ``.counts``)."""
    return Figure("open_by_age", _l("Open cases at the end of the period, by age"),
                  _l("Cases not concluded on the last day of the period, by how long "
                     "since they were received: up to the 3-month feedback deadline, up "
                     "to 6 months, up to a year, or longer."),
                  tables["open_by_age"], _l("cases"), UNIT, AGE_BAND,
                  {**units.labels, **AGE_LABELS})
