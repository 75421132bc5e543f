"""Disclosure control across periods: a year and its four quarters, protected together.

:func:`.disclosure.protect` keeps one period's releases from giving each other away. A
year and its quarters are different periods that count the same cases: for a table of
events counted by their date (``ADDITIVE``), the year's table is the sum of its four
quarters' tables, so an attacker holding the annual table and three quarterly ones
subtracts and recovers a cell hidden in the fourth; for a stock on the period's last day
(``STOCK_AT_END``), the year's table is its fourth quarter's. Each table declares how it
aggregates over time (``casework.statistics.figures.OVER_TIME``, checked by a property
test on random case populations).

**The family.** A quarter's release and a year's are protected as one linear program
over the whole *family*, the year and its four quarters (:func:`family`), with the
cross-period equations in the attacker's hands (year cell = sum of the quarter cells,
year cell <= that sum, or year cell = fourth-quarter cell) and, for every member:

- already published (a release of it exists): a cell a release published with the value
  it has now is known to the attacker (a constant); a cell a release hid must stay
  protected (a target of the check, like the period's own hidden cells) though this
  release cannot change it; a cell whose value changed since it was published (a late
  acknowledgement, a case moved) is unknown (what the attacker knows about the drift is
  not modelled: see docs/statistics.md);
- not yet published: protected as if published now, and then forgotten. This is what
  makes the order of publishing irrelevant: the member published LAST has every other
  member fixed, and its small cells must already be protected by the others' patterns.
  Simulating it when the others are published is how they are chosen so.

Only the pattern of the period being released is returned. Each member's tables are the
figures computed now, so the data the program starts from are consistent by construction
(the declaration says so); an earlier release is related to them only through the cells
that did not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .disclosure import Key, _build, _Built, _structure, _suppress, _values
from .disclosure_lp import InconsistentRelease
from .periods import Period
from .tables import CountTable, ReleasedCell, ReleasedTable

__all__ = ["Member", "OverTime", "family", "protect_in_family"]


class OverTime(StrEnum):
    """How a table of a year relates to the same table of its quarters (computed at the
    same moment, from the same cases)."""

    ADDITIVE = "additive"  # year == Q1 + Q2 + Q3 + Q4, cell by cell (events by date)
    # year <= Q1 + Q2 + Q3 + Q4, cell by cell: a case counted at most once in the year
    # and, with the same label, in one of the quarters (the last conclusion)
    AT_MOST_SUM = "at-most-sum"
    STOCK_AT_END = "stock-at-end"  # year == Q4 (a stock on the period's last day)
    NEITHER = "neither"  # no relation (the year's art. 27(2) tables)


@dataclass(frozen=True)
class Member:
    """A period of the family other than the one being released: its count tables as
    computed now, and every table its releases published (oldest first; none: not yet
    published)."""

    period: Period
    tables: Sequence[CountTable]
    releases: Sequence[ReleasedTable] = ()


def family(period: Period) -> tuple[Period, ...]:
    """The periods whose tables relate to ``period``'s: its year and the year's quarters."""
    year = Period.of_year(period.year)
    return (year, *year.quarters())


def _name(period: Period, table_id: str) -> str:
    return f"{period.label}/{table_id}"


def _prefixed(period: Period, table: CountTable) -> CountTable:
    return CountTable(_name(period, table.id), table.rows, table.columns, table.cells,
                      tuple(_name(period, other) for other in table.linked))


def _relations(periods: Sequence[Period], present: set[str],
               over_time: Mapping[str, OverTime], table_ids: Sequence[str]
               ) -> list[tuple[OverTime, str, list[str]]]:
    """(kind, the year's table, its quarters' tables) for every declared table."""
    years = [p for p in periods if p.kind == "year"]
    if not years:
        return []
    year = years[0]
    out: list[tuple[OverTime, str, list[str]]] = []
    for table_id in table_ids:
        kind = over_time.get(table_id, OverTime.NEITHER)
        quarters = year.quarters()[-1:] if kind is OverTime.STOCK_AT_END else year.quarters()
        parts = [_name(q, table_id) for q in quarters if _name(q, table_id) in present]
        if kind is not OverTime.NEITHER and _name(year, table_id) in present and parts:
            out.append((kind, _name(year, table_id), parts))
    return out


def _groups(tables: Sequence[CountTable],
            relations: Sequence[tuple[OverTime, str, list[str]]]) -> list[list[CountTable]]:
    """Tables joined by ``linked`` (within a period) or by a relation (across periods)."""
    parent = {t.id: t.id for t in tables}

    def find(node: str) -> str:
        while parent[node] != node:
            node = parent[node]
        return node

    def union(a: str, b: str) -> None:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)

    for t in tables:
        for other in t.linked:
            union(t.id, other)
    for _kind, whole, parts in relations:
        for part in parts:
            union(whole, part)
    groups: dict[str, list[CountTable]] = {}
    for t in tables:
        groups.setdefault(find(t.id), []).append(t)
    return list(groups.values())


def _fix_published(built: _Built, member: Member, tables: Sequence[CountTable],
                   values: Mapping[str, Mapping[Key, int]]) -> set[tuple[str, Key]]:
    """Mark what a published member's releases gave away (constants), what they hid
    (returned: targets the check must keep protected) and what changed since (unknown).
    A table none of its releases holds stays simulated (protected as if published now)."""
    model = built.model
    shown: dict[str, list[ReleasedTable]] = {}
    for released in member.releases:
        shown.setdefault(released.id, []).append(released)
    status: dict[int, tuple[int, float | None]] = {}  # var -> (rank, value): 2 known
    targets: set[tuple[str, Key]] = set()
    for t in tables:
        base = t.id.split("/", 1)[1]
        if base not in shown:
            continue
        for key, _inner in _structure(t.rows, t.columns)[0]:
            now = values[t.id][key]
            seen = [r.cells[key].value for r in shown[base] if key in r.cells]
            if now in seen:  # published with the value it has now: the attacker knows it
                rank, value = 2, float(now)
            elif None in seen:  # hidden by a release: must stay protected
                rank, value = 1, float(now)
                targets.add((t.id, key))
            else:  # changed since it was published, or never published: unknown
                rank, value = 0, None
            index = built.var[(t.id, key)]
            if status.get(index, (-1, None))[0] < rank:
                status[index] = (rank, value)
    for index, (rank, value) in status.items():
        if rank == 2:
            model.current[index], model.known[index], model.value[index] = False, True, value
        elif rank == 0:
            model.current[index], model.known[index], model.value[index] = False, False, None
    return targets


def _equations(built: _Built, tables: Mapping[str, CountTable],
               relations: Sequence[tuple[OverTime, str, list[str]]]) -> None:
    """The cross-period equations, over every cell and margin of the year's table (a key
    a quarter lacks counts 0 there)."""
    model = built.model
    for kind, whole, parts in relations:
        if whole not in tables:
            continue
        year = tables[whole]
        for key, inner in _structure(year.rows, year.columns)[0]:
            equation: dict[int, float] = {built.var[(whole, key)]: 1.0}
            for part in parts:
                index = built.var.get((part, key))
                if index is not None:
                    equation[index] = equation.get(index, 0.0) - 1.0
            if kind is OverTime.AT_MOST_SUM:  # year + slack == sum, slack >= 0 unknown
                slack = model.add(("slack", whole, *key), None, known=False, current=False,
                                  inner=inner)
                equation[slack] = 1.0
            model.equations.append(equation)


def protect_in_family(period: Period, tables: Sequence[CountTable],
                      members: Sequence[Member], over_time: Mapping[str, OverTime], *,
                      k: int, protection: int,
                      carried: Mapping[str, Iterable[tuple[str, str]]] | None = None,
                      previous: Sequence[ReleasedTable] = ()) -> list[ReleasedTable]:
    """``period``'s tables as they may be published (in the order given), protected
    against every release of its family (``members``: the other periods of
    :func:`family`) as well as its own earlier ones (``carried``, ``previous``: as for
    :func:`.disclosure.protect`)."""
    if k < 2 or protection < 1:
        raise ValueError("k must be at least 2 and protection at least 1")
    everything = [_prefixed(period, t) for t in tables]
    ids = [t.id for t in tables]
    by_member: dict[str, Member] = {}
    for member in members:
        if member.period == period:
            continue
        for t in member.tables:
            if over_time.get(t.id, OverTime.NEITHER) is not OverTime.NEITHER and t.id in ids:
                by_member[_name(member.period, t.id)] = member
                everything.append(_prefixed(member.period, t))
    named = {t.id: t for t in everything}
    relations = _relations([period, *(m.period for m in members)], set(named), over_time,
                           ids)
    layers: list[dict[str, ReleasedTable]] = []  # the period's own releases, one per layer
    for earlier in previous:
        layer = next((x for x in layers if _name(period, earlier.id) not in x), None)
        if layer is None:
            layer = {}
            layers.append(layer)
        layer[_name(period, earlier.id)] = ReleasedTable(
            _name(period, earlier.id), earlier.rows, earlier.columns, earlier.cells)
    hidden = {(_name(period, tid), (str(r), str(c)))
              for tid, keys in (carried or {}).items() for r, c in keys}
    hidden |= {(_name(period, t.id), key) for t in previous for key in t.suppressed}
    values = {t.id: _values(t) for t in everything}
    released: dict[str, ReleasedTable] = {}
    for group in _groups(everything, relations):
        own = [t for t in group if t.id.split("/", 1)[0] == period.label]
        if not own:
            continue  # no table of this release: nothing to decide
        for monotone in (True, False):
            built = _build(group, values, layers, monotone=monotone)
            targets = set(hidden)
            for member in members:
                mine = [t for t in group if by_member.get(t.id) is member]
                if mine and member.releases:
                    targets |= _fix_published(built, member, mine, values)
            _equations(built, {t.id: t for t in group}, relations)
            try:
                reason = _suppress(built, k=k, protection=protection, carried=targets)
                break
            except InconsistentRelease:
                # A count of the period fell since its earlier release: the 'only added'
                # model is visibly false and dropped, as in disclosure.protect.
                if not monotone:
                    raise
        for t in own:
            cells = {}
            for key, _inner in _structure(t.rows, t.columns)[0]:
                why = reason.get(built.var[(t.id, key)])
                cells[key] = ReleasedCell(None if why else values[t.id][key], why)
            base = t.id.split("/", 1)[1]
            released[base] = ReleasedTable(base, t.rows, t.columns, cells)
    return [released[t.id] for t in tables]
