"""STAND-INS, for tests only, of the statistics modules other parts of issue 12 write.

``casework.statistics.figures`` (S1) and ``disclosure`` (S2): each is installed under
its real name ONLY while the real module cannot be imported yet (:func:`install`), so
that the release tests run before they land and run against the real ones after. They
follow the interfaces of the brief, crudely: a count by category and by unit; primary
suppression under k plus the next smallest cell of a one-dimensional table; the carried
pattern.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.statistics.tables import TOTAL, CountTable, ReleasedCell, ReleasedTable, Suppression


def figures(session: Session, period: Any, *, authorities: Any = ()) -> list[Any]:
    from casework.models import Case
    from casework.statistics.figures_base import DaysFigure, Figure

    found: list[Any] = []
    for dimension, title in (("category", "Reports received by category"),
                             ("unit_id", "Reports received by unit")):
        column = getattr(Case, dimension)
        counts = dict(session.execute(
            select(column, func.count()).where(Case.received_on >= period.start,
                                               Case.received_on < period.end)
            .group_by(column)).tuples().all())
        table_id = "received_by_" + dimension.removesuffix("_id")
        found.append(Figure(table_id, title, "Reports that arrived in the period.",
                            CountTable(table_id, tuple(sorted(counts)),
                                       cells={(r, TOTAL): n for r, n in counts.items()})))
    found.append(DaysFigure("days_to_acknowledgement", "Days", "", {}))
    return found


def tables_of(found: Iterable[Any]) -> list[CountTable]:
    from casework.statistics.figures_base import Figure

    return [f.table for f in found if isinstance(f, Figure)]


def protect(tables: Sequence[CountTable], *, k: int, protection: int,
            carried: Mapping[str, Iterable[tuple[str, str]]] = {}) -> list[ReleasedTable]:
    released = []
    for table in tables:
        kept = set(carried.get(table.id, ()))
        reasons: dict[tuple[str, str], Suppression] = {}
        for row in table.rows:
            key = (row, TOTAL)
            if key in kept:
                reasons[key] = Suppression.CARRIED
            elif 0 < table.count(row) < k:
                reasons[key] = Suppression.PRIMARY
        if len(reasons) == 1:
            others = sorted((table.count(r), r) for r in table.rows if (r, TOTAL) not in reasons)
            if others:
                reasons[(others[0][1], TOTAL)] = Suppression.SECONDARY
        cells = {(r, TOTAL): ReleasedCell(None, reasons[(r, TOTAL)]) if (r, TOTAL) in reasons
                 else ReleasedCell(table.count(r)) for r in table.rows}
        cells[(TOTAL, TOTAL)] = ReleasedCell(table.total)
        released.append(ReleasedTable(table.id, table.rows, table.columns, cells))
    return released


def pattern_of(tables: Sequence[ReleasedTable]) -> dict[str, list[list[str]]]:
    return {t.id: sorted([list(key) for key in t.suppressed]) for t in tables}


STAND_INS: dict[str, dict[str, Any]] = {
    "figures": {"figures": figures, "tables_of": tables_of},
    "disclosure": {"protect": protect, "pattern_of": pattern_of},
}


def install() -> list[str]:
    """Install a stand-in for each module that does not exist yet; their names."""
    import casework.statistics as package

    installed = []
    for name, members in STAND_INS.items():
        full = f"casework.statistics.{name}"
        try:
            importlib.import_module(full)
        except ImportError:  # not there, or half-written by its author right now
            module = types.ModuleType(full, "STAND-IN for tests (tests/casework/"
                                            "statistics_standins.py)")
            module.__dict__.update(members)
            sys.modules[full] = module
            setattr(package, name, module)
            installed.append(name)
    return installed
