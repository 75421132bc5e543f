"""The shapes of a figure and what every figure's query shares.

A :class:`Figure` is a count table with the words around it: a title, a plain-language
note saying what it counts, what one count is, which dimension its rows and columns are
(so the dashboard can filter by unit or category as a SLICE of a table protected whole),
and the labels of its row and column codes. A :class:`DaysFigure` gives durations (median
and 90th percentile days) per unit; an :class:`AmountFigure` a sum of kronor with the
number of cases that contributed, per unit. Nothing here carries a case id, a reference or
a date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Date, FunctionElement, Integer, and_, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import TypeEngine

from ..i18n import _language
from ..models import Unit
from .periods import Period
from .tables import TOTAL, CountTable

Text: TypeAlias = str | LazyString
Labels: TypeAlias = Mapping[str, Text]
DaysGroup: TypeAlias = tuple[int, float | None, float | None]  # (n, median, 90th percentile)

# What a table's rows or columns are. The dashboard filters by UNIT and CATEGORY: a
# filter selects rows or columns of a table that was protected whole.
UNIT = "unit"
CATEGORY = "category"
AGENCY_GROUP = "agency-group"
OUTCOME = "outcome"
DESTINATION = "destination"
ACKNOWLEDGEMENT = "acknowledgement"
FEEDBACK = "feedback"
AGE_BAND = "age-band"
REQUEST_STATUS = "request-status"
COUNT = ""  # a one-dimensional table's single column (TOTAL)


@dataclass(frozen=True)
class Figure:
    """A count table and what it means.

    ``unit_label`` says what one count is ("cases", "escalations", "declarations").
    ``columns``, when set, makes the figure a slice of ``table``: show only these columns
    (TOTAL: the rows' margins). The table is the whole one, and is protected whole; use
    :func:`casework.statistics.figures.tables_of` to get each table once.
    """

    id: str
    title: Text
    note: Text
    table: CountTable
    unit_label: Text | None = None
    row_dimension: str = UNIT
    column_dimension: str = COUNT
    labels: Labels = field(default_factory=dict)
    columns: tuple[str, ...] | None = None

    def label(self, code: str) -> str:
        """The plain-language label of a row or column code (the code if none)."""
        if code == TOTAL:
            return str(_l("Total"))
        return str(self.labels.get(code, code))


@dataclass(frozen=True)
class DaysFigure:
    """Days from receipt to an event, per unit (and TOTAL, all units together).

    ``groups`` maps a unit id (or TOTAL) to (how many cases, the median, the 90th
    percentile), both None when no case counts. Disclosure control suppresses a group
    of fewer than k cases (``disclosure.release_days``).
    """

    id: str
    title: Text
    note: Text
    groups: Mapping[str, DaysGroup]
    labels: Labels = field(default_factory=dict)
    dimension: str = UNIT
    # The count table whose row margins (unit, TOTAL) and grand total are this figure's
    # n, if any (days to closure: the outcomes). Where that table hides a margin, the
    # group's n must be hidden too, or it would give the hidden margin away.
    counts_table: str = ""

    def label(self, code: str) -> str:
        if code == TOTAL:
            return str(_l("All units"))
        return str(self.labels.get(code, code))


AmountGroup: TypeAlias = tuple[int, int, int, int]  # (n, sum, largest, second largest)


@dataclass(frozen=True)
class AmountFigure:
    """Sums of whole kronor per unit over the cases that recorded an amount (art. 27(2)).

    ``groups`` maps a unit id (and TOTAL, all units) to (how many cases contributed, the
    sum, the largest and the second largest single contribution). The two largest are
    kept only for the dominance rule; ``rows`` are the units in order (those of the count
    table ``counts_table``, whose cell (unit, TOTAL) is that unit's n). Never released as
    is: see :func:`casework.statistics.magnitudes.protect_amounts`.
    """

    id: str
    title: Text
    note: Text
    groups: Mapping[str, AmountGroup]
    rows: tuple[str, ...] = ()
    labels: Labels = field(default_factory=dict)
    counts_table: str = ""  # the id of the count table whose cells are the groups' n

    @property
    def cases(self) -> int:
        return self.groups.get(TOTAL, (0, 0, 0, 0))[0]

    @property
    def total_sek(self) -> int:
        return self.groups.get(TOTAL, (0, 0, 0, 0))[1]

    @property
    def largest_sek(self) -> int:
        return self.groups.get(TOTAL, (0, 0, 0, 0))[2]

    def label(self, code: str) -> str:
        if code == TOTAL:
            return str(_l("All units"))
        return str(self.labels.get(code, code))


def amount_groups(pairs: Iterable[tuple[str, int]]) -> dict[str, AmountGroup]:
    """(unit, amount) pairs as (n, sum, largest, second largest) per unit and TOTAL."""
    by_unit: dict[str, list[int]] = {}
    for unit, amount in pairs:
        by_unit.setdefault(str(unit), []).append(int(amount))
    everything = [a for amounts in by_unit.values() for a in amounts]
    out: dict[str, AmountGroup] = {}
    for name, amounts in (*by_unit.items(), (TOTAL, everything)):
        top = [*sorted(amounts, reverse=True)[:2], 0, 0]
        out[name] = (len(amounts), sum(amounts), top[0], top[1])
    return out


# --- SQL helpers -------------------------------------------------------------------------


class days_between(FunctionElement[int]):  # noqa: N801 (reads as the SQL function it is)
    """Whole days from ``earlier`` to ``later`` (two DATE expressions), in SQL.

    SQLite stores dates as ISO text (julianday); PostgreSQL subtracts dates to an
    integer. The only date arithmetic the figures do in SQL: classifying a case against
    a deadline, or its age against a band, inside the aggregation.
    """

    type: TypeEngine[int] = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (f"CAST(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)")


class day_of(FunctionElement[Any]):  # noqa: N801 (reads as the SQL function it is)
    """The day (a DATE) of a moment (a naive UTC DATETIME), in SQL: so that a duration
    to a moment is counted in whole days in the query, as one to a date is."""

    type: TypeEngine[Any] = Date()
    name = "day_of"
    inherit_cache = True


@compiles(day_of)
def _day_of(element: day_of, compiler: Any, **kw: Any) -> str:
    (moment,) = list(element.clauses)
    return f"CAST({compiler.process(moment, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    # SQLite stores a moment as ISO text; CAST AS DATE would give its year as a number.
    (moment,) = list(element.clauses)
    return f"date({compiler.process(moment, **kw)})"


def date_value(value: Any) -> ColumnElement[Any]:
    """A date as a typed SQL literal (a bound parameter)."""
    return literal(value, Date())


def on_days(column: Any, period: Period) -> ColumnElement[bool]:
    """A DATE column within the period."""
    return and_(column >= period.start, column < period.end)


def at_moments(column: Any, period: Period) -> ColumnElement[bool]:
    """A DATETIME column (naive UTC) within the period."""
    return and_(column >= period.start_at, column < period.end_at)


# --- units and labels --------------------------------------------------------------------


def by_language(sv: str, en: str) -> str:
    """The Swedish or English name, in the language of the page (for a LazyString)."""
    return en if _language() == "en" else sv


@dataclass(frozen=True)
class Units:
    """The units, read once per set of figures: their ids in order, and their names."""

    ids: tuple[str, ...]
    receiving: tuple[str, ...]  # the units reports are filed with
    labels: Labels

    @classmethod
    def load(cls, session: Session) -> Units:
        rows = session.execute(select(Unit.id, Unit.name_sv, Unit.name_en,
                                      Unit.receives_reports).order_by(Unit.id)).all()
        return cls(tuple(r.id for r in rows), tuple(r.id for r in rows if r.receives_reports),
                   {r.id: LazyString(by_language, r.name_sv, r.name_en) for r in rows})

    def rows(self, counted: Iterable[str] = ()) -> tuple[str, ...]:
        """The receiving units, and any other unit something was counted for.

        A unit that takes no reports (KOF) gets a row only where it has a count, so
        tables do not fill with rows of zeros; a receiving unit always has its row, so a
        table's shape does not depend on its data.
        """
        seen = set(counted)
        return tuple(u for u in self.ids if u in self.receiving or u in seen) + \
            tuple(sorted(seen - set(self.ids)))


def cells_of(rows: Iterable[Any]) -> dict[tuple[str, str], int]:
    """(row, column, count) result rows as cells, adding up keys that map together."""
    cells: dict[tuple[str, str], int] = {}
    for row, column, count in rows:
        key = (str(row), str(column))
        cells[key] = cells.get(key, 0) + int(count)
    return cells


def percentile(ordered: list[int], share: float) -> float:
    """The nearest-rank percentile of an ascending, non-empty list."""
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def median(ordered: list[int]) -> float:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
