"""The shapes every part of the statistics shares.

A figure is a :class:`CountTable`: counts of cases by one or two dimensions (rows, and
optionally columns), with its margins computed from the cells. Disclosure control turns
it into a :class:`ReleasedTable`, where each cell either shows its value or is
suppressed (``value`` None) with the reason. Nothing else ever leaves casework: charts,
reports, exports and the API draw from released tables only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

TOTAL = "total"  # the key of a margin (a row's or column's total, and the grand total)


class Suppression(StrEnum):
    """Why a cell is not shown."""

    PRIMARY = "primary"  # fewer than k cases
    SECONDARY = "secondary"  # would let a primary cell be worked out from the others
    CARRIED = "carried"  # suppressed in an earlier release of the same period
    # As published: suppressed, the reason withheld. Knowing a cell is suppressed for
    # being small would tell that it counts 1..k-1, narrower than the protection the
    # linear programming check guarantees; so outputs never say which reason applied.
    CONFIDENTIAL = "c"


@dataclass(frozen=True)
class CountTable:
    """Counts of cases by ``rows`` (and ``columns``, if two-dimensional).

    ``cells`` maps (row, column) to a count; a one-dimensional table has the single
    column :data:`TOTAL`. Absent cells count 0. ``linked`` names the tables that share
    margins with this one (the same cases counted by another dimension), whose
    suppression must be consistent with it.
    """

    id: str  # stable across releases, e.g. "received_by_category"
    rows: tuple[str, ...]
    columns: tuple[str, ...] = (TOTAL,)
    cells: Mapping[tuple[str, str], int] = field(default_factory=dict)
    linked: tuple[str, ...] = ()

    def count(self, row: str, column: str = TOTAL) -> int:
        """One cell's count (0 if absent)."""
        return self.cells.get((row, column), 0)

    def row_total(self, row: str) -> int:
        return sum(self.count(row, c) for c in self.columns)

    def column_total(self, column: str) -> int:
        return sum(self.count(r, column) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(self.count(r, c) for r in self.rows for c in self.columns)


@dataclass(frozen=True)
class ReleasedCell:
    """A cell as published: its value, or None with the reason it is suppressed."""

    value: int | None
    suppressed: Suppression | None = None

    @property
    def shown(self) -> str:
        """The cell as every output prints it: the number, or ``:c`` (confidential)."""
        return ":c" if self.value is None else str(self.value)


@dataclass(frozen=True)
class ReleasedTable:
    """A :class:`CountTable` after disclosure control: cells and margins, each shown or
    suppressed. Margins are keyed (row, TOTAL), (TOTAL, column) and (TOTAL, TOTAL)."""

    id: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], ReleasedCell]

    def cell(self, row: str, column: str = TOTAL) -> ReleasedCell:
        return self.cells[(row, column)]

    @property
    def suppressed(self) -> frozenset[tuple[str, str]]:
        """The keys of every suppressed cell (inner cells and margins)."""
        return frozenset(k for k, c in self.cells.items() if c.value is None)
