"""What the statistician's dashboard shows: a period's figures, protected, then sliced.

The order matters and is the point of this module: every table is protected WHOLE
(:func:`disclosure.protect`, with the pattern of any release of the same period carried
over), and only then does a unit or category filter select rows or columns of the
released table. A filter never makes a separately protected sub-population: a filtered
view shows exactly the cells the unfiltered one shows, so comparing the two reveals
nothing. The export (:mod:`.export`) takes the same released tables, unfiltered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.contract import Category

from ..config import CaseworkConfig
from ..errors import InvalidInput
from ..models import ReleaseKind, StatisticsRelease, Unit
from . import export
from .disclosure import ReleasedDays
from .figures import AmountFigure, AnyFigure, DaysFigure, Figure
from .figures_base import CATEGORY, UNIT
from .periods import Period
from .releases import protected_figures
from .tables import TOTAL, ReleasedCell, ReleasedTable

MAX_FILTER = 64  # a unit id or category code is far shorter


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: a unit id and a category code, each optional."""

    unit: str | None = None
    category: str | None = None

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("unit", self.unit), ("category", self.category)) if v}


@dataclass(frozen=True)
class Shown:
    """One figure as the dashboard shows it.

    ``table`` is a released table (sliced by the filters), or None for a figure that is
    not a count table (``days`` rows or an ``amount``). ``sliced``: which filters applied
    to this figure (the others do not break it down, and the note says so).
    """

    id: str
    title: str
    note: str
    label: Callable[[str], str]
    table: ReleasedTable | None = None
    unit_label: str | None = None
    sliced: tuple[str, ...] = ()
    unsliced: tuple[str, ...] = ()
    days: list[tuple[str, ReleasedCell, str, str]] = field(default_factory=list)
    amount: ReleasedCell | None = None
    dimension: str = UNIT  # what the rows are (the first header of the table)


@dataclass(frozen=True)
class Dashboard:
    period: Period
    filters: Filters
    k: int
    protection: int
    shown: list[Shown]
    released: list[ReleasedTable]  # whole tables: what the export carries
    titles: dict[str, str]
    releases: int  # how many releases of the period exist (their pattern is carried)

    @property
    def kind(self) -> str:
        return (ReleaseKind.QUARTERLY if self.period.kind == "quarter"
                else ReleaseKind.ANNUAL).value


def parse_filters(session: Session, unit: str | None, category: str | None) -> Filters:
    """Check the filters against the units and the contract's categories (400 if not)."""
    unit, category = unit or None, category or None
    if unit is not None and (len(unit) > MAX_FILTER or session.get(Unit, unit) is None):
        raise InvalidInput(_l("There is no such unit. Choose a unit from the list."))
    if category is not None and category not in {c.value for c in Category}:
        raise InvalidInput(_l("There is no such category. Choose one from the list."))
    return Filters(unit, category)


def offered_periods(today: dt.date, asked: Period, quarters: int = 8) -> list[Period]:
    """The periods the filter offers, newest first: the last ``quarters`` quarters and the
    years they touch, plus the one asked for."""
    found: list[Period] = []
    quarter = Period.current_quarter(today)
    for _ in range(quarters):
        found.append(quarter)
        quarter = Period.previous_quarter(quarter.start)
    years = sorted({p.year for p in found}, reverse=True)
    found.extend(Period.of_year(y) for y in years)
    if asked not in found:
        found.insert(0, asked)
    return found


def exported(session: Session, config: CaseworkConfig, period: Period, fmt: str) -> str:
    """The period's released figures, whole, as ``csv`` or ``json`` (schema
    lykta-statistics/2): titles, notes and the names of row and column keys included."""
    found, released, magnitudes = protected_figures(session, config, period)
    titles: dict[str, object] = {}
    notes: dict[str, object] = {}
    labels: dict[str, dict[str, str]] = {}
    for figure in found:
        if isinstance(figure, Figure):
            table = figure.table
            titles.setdefault(table.id, figure.title)
            notes.setdefault(table.id, figure.note)
            names = labels.setdefault(table.id, {})
            for key in (*table.rows, *table.columns):
                names.setdefault(key, figure.label(key))
        else:
            titles[figure.id], notes[figure.id] = figure.title, figure.note
            codes = figure.groups if isinstance(figure, DaysFigure) else figure.rows
            labels[figure.id] = {c: figure.label(c) for c in codes if c != TOTAL}
    kind = (ReleaseKind.QUARTERLY if period.kind == "quarter" else ReleaseKind.ANNUAL).value
    write = export.to_json if fmt == "json" else export.to_csv
    return write(released, period=period.label, kind=kind, k=config.statistics_k,
                 protection=config.statistics_protection, titles=titles, notes=notes,
                 labels=labels, durations=magnitudes.days,
                 amounts=list(magnitudes.amounts.values()))


# The name of a table's row dimension, for the first header of its table.
DIMENSION_LABELS = {UNIT: _l("Unit"), CATEGORY: _l("Category"), "agency-group": _l(
    "Agency group"), "outcome": _l("Outcome"), "destination": _l("Destination"),
    "age-band": _l("Age"), "request-status": _l("Decision")}


@dataclass(frozen=True)
class Grid:
    """A released table laid out for an HTML table: the columns to print (TOTAL last,
    when the row margins are there) and each row's cells (TOTAL row last, likewise)."""

    columns: list[str]
    rows: list[tuple[str, list[ReleasedCell | None]]]
    one_dimensional: bool


def grid(table: ReleasedTable) -> Grid:
    columns = [c for c in table.columns if c != TOTAL]
    one_dimensional = not columns
    if one_dimensional or any(key[1] == TOTAL for key in table.cells):
        columns.append(TOTAL)
    rows = [r for r in table.rows if r != TOTAL]
    if any(key[0] == TOTAL for key in table.cells):
        rows.append(TOTAL)
    return Grid(columns, [(r, [table.cells.get((r, c)) for c in columns]) for r in rows],
                one_dimensional)


def suppressed_counts(table: ReleasedTable) -> int:
    """How many cells of the (shown) table are suppressed. Not by reason: that a cell is
    suppressed for being small tells it counts 1..k-1 (see tables.Suppression)."""
    return sum(1 for cell in table.cells.values() if cell.value is None)


def units(session: Session) -> list[Unit]:
    """The units a filter may choose."""
    return list(session.scalars(select(Unit).order_by(Unit.id)))


def released_tables(session: Session, config: CaseworkConfig, period: Period
                    ) -> tuple[list[AnyFigure], list[ReleasedTable]]:
    """The period's figures and their count tables protected whole, as a release of it
    would be (``releases.protected_figures``)."""
    found, released, _magnitudes = protected_figures(session, config, period)
    return found, released


def dashboard(session: Session, config: CaseworkConfig, period: Period,
              filters: Filters) -> Dashboard:
    """The period's figures, protected whole as a release of them would be (counts,
    durations and sums alike: ``releases.protected_figures``), then sliced by
    ``filters``."""
    found, released, magnitudes = protected_figures(session, config, period)
    by_id = {t.id: t for t in released}
    shown: list[Shown] = []
    for figure in found:
        if isinstance(figure, Figure):
            shown.append(_counts(figure, by_id[figure.table.id], filters))
        elif isinstance(figure, DaysFigure):
            shown.append(_days(figure, magnitudes.days[figure.id], filters))
        else:
            shown.append(_amount(figure, magnitudes.amounts[figure.id], filters))
    count = len(session.scalars(select(StatisticsRelease.id)
                                .where(StatisticsRelease.period == period.label)).all())
    titles: dict[str, str] = {}
    for figure in found:
        if isinstance(figure, Figure):
            titles.setdefault(figure.table.id, str(figure.title))
    return Dashboard(period, filters, config.statistics_k, config.statistics_protection,
                     shown, released, titles, count)


def slice_table(table: ReleasedTable, rows: Sequence[str] | None = None,
                columns: Sequence[str] | None = None) -> ReleasedTable:
    """The released cells of the chosen rows and columns (None: all), as released.

    Nothing is recomputed, so a slice shows no number the whole table does not. The
    whole table's margins along a sliced dimension are dropped: they count the rows (or
    columns) left out too, and would read as the slice's total.
    """
    keep_rows = table.rows if rows is None else tuple(rows)
    keep_columns = table.columns if columns is None else tuple(columns)
    wanted_rows = set(keep_rows) | ({TOTAL} if rows is None else set())
    wanted_columns = set(keep_columns) | ({TOTAL} if columns is None else set())
    cells = {key: cell for key, cell in table.cells.items()
             if key[0] in wanted_rows and key[1] in wanted_columns}
    return ReleasedTable(table.id, keep_rows, keep_columns, cells)


def _wanted(dimension: str, filters: Filters) -> tuple[str, str] | None:
    """(filter name, key) when a filter selects along ``dimension``."""
    if dimension == UNIT and filters.unit is not None:
        return "unit", filters.unit
    if dimension == CATEGORY and filters.category is not None:
        return "category", filters.category
    return None


def _counts(figure: Figure, table: ReleasedTable, filters: Filters) -> Shown:
    rows: list[str] | None = None
    columns = list(figure.columns) if figure.columns is not None else None
    sliced = []
    if (by_row := _wanted(figure.row_dimension, filters)) is not None:
        rows = [r for r in table.rows if r == by_row[1]]
        sliced.append(by_row[0])
    if (by_column := _wanted(figure.column_dimension, filters)) is not None:
        columns = [c for c in (columns or table.columns) if c == by_column[1]]
        sliced.append(by_column[0])
    unsliced = tuple(name for name, value in filters.query().items() if name not in sliced)
    view = table if rows is None and columns is None else slice_table(table, rows, columns)
    return Shown(figure.id, str(figure.title), str(figure.note), figure.label, view,
                 str(figure.unit_label) if figure.unit_label else None,
                 tuple(sliced), unsliced, dimension=figure.row_dimension)


def _duration(value: float | None, hidden: bool) -> str:
    if hidden:
        return ":c"
    return "\N{EN DASH}" if value is None else f"{value:g}"


def _days(figure: DaysFigure, released: Mapping[str, ReleasedDays],
          filters: Filters) -> Shown:
    """Median and 90th percentile days per group, as released
    (``magnitudes.protect_days``): a hidden group shows ``:c`` for its count and both
    durations."""
    wanted = _wanted(figure.dimension, filters)
    rows = []
    for group, days in released.items():
        if wanted is not None and group != wanted[1]:
            continue  # a slice of the groups released for the whole figure
        hidden = days.suppressed is not None
        rows.append((group, ReleasedCell(days.n, days.suppressed),
                     _duration(days.median, hidden), _duration(days.p90, hidden)))
    sliced = (wanted[0],) if wanted is not None else ()
    unsliced = tuple(name for name in filters.query() if name not in sliced)
    return Shown(figure.id, str(figure.title), str(figure.note), figure.label, None, None,
                 sliced, unsliced, days=rows, dimension=figure.dimension)


def _amount(figure: AmountFigure, released: ReleasedTable, filters: Filters) -> Shown:
    """Sums of kronor by unit, as released (``magnitudes.protect_amounts``); a unit
    filter selects its row of the table released whole."""
    rows: list[str] | None = None
    sliced: tuple[str, ...] = ()
    if (by_row := _wanted(UNIT, filters)) is not None:
        rows, sliced = [r for r in released.rows if r == by_row[1]], (by_row[0],)
    unsliced = tuple(name for name in filters.query() if name not in sliced)
    view = released if rows is None else slice_table(released, rows)
    return Shown(figure.id, str(figure.title), str(figure.note), figure.label, view,
                 str(_l("kronor")), sliced, unsliced, dimension=UNIT)
