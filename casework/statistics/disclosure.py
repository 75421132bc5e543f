"""Disclosure control: which cells of the count tables may be published.

- Primary suppression: a cell or margin counting 1..k-1 cases is hidden. A zero is
  published: it counts nobody. (A zero is hidden only when hiding it is the cheapest way
  left to protect another cell, priced above every non-zero inner cell, because an
  attacker may know that a combination cannot occur.)
- Secondary suppression: more cells are hidden until, for EVERY hidden cell, the
  attacker's linear program over the published cells and margins (see
  :mod:`.disclosure_lp`) leaves an interval at least ``protection`` wide. Each failing
  cell gets the cheapest set of extra suppressions (small cells preferred) that lets it
  rise by ``protection`` from its true value with every published equation intact.
- Linked tables (``CountTable.linked``) are protected together: their shared margins (the
  grand total; row or column totals over the same labels, such as the totals by unit;
  a one-dimensional table that is another's margin) are one variable, so they are hidden
  in both or in neither, and the attacker's program sees every linked table at once.
- Releases of one period: the cells an earlier release hid (``carried``) are hidden again
  first. Given the earlier release itself (``previous``), the attacker also holds its
  published equations and knows each count can only have grown; the protection is
  checked against that attacker too.

Only the released tables leave casework. The reason for a suppression must not be
published with a cell: an attacker who knows a cell is "primary" knows it is 1..k-1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .disclosure_days import ReleasedDays, release_days, whole_days
from .disclosure_lp import EPS, InconsistentRelease, Model, deviation, interval, straddle
from .tables import TOTAL, CountTable, ReleasedCell, ReleasedTable, Suppression

__all__ = ["InconsistentRelease", "ReleasedDays", "attack_interval", "pattern_of",
           "protect", "release_days", "whole_days"]

Key = tuple[str, str]
MAX_ROUNDS = 200  # protector LPs per component before falling back to hiding everything


def _structure(rows: Sequence[str], columns: Sequence[str]) -> tuple[
        list[tuple[Key, bool]], list[list[tuple[Key, float]]], list[dict[str, Key]]]:
    """A table's keys (with 'inner?'), its additive equations, and its margins by
    dimension (label -> key), the parts a linked table may share."""
    grand = (TOTAL, TOTAL)
    if tuple(columns) == (TOTAL,):
        keys = [((r, TOTAL), True) for r in rows] + [(grand, False)]
        equations = [[((r, TOTAL), 1.0) for r in rows] + [(grand, -1.0)]]
        return keys, equations, [{r: (r, TOTAL) for r in rows}]
    keys = [((r, c), True) for r in rows for c in columns]
    keys += [((r, TOTAL), False) for r in rows] + [((TOTAL, c), False) for c in columns]
    keys.append((grand, False))
    equations = [[((r, c), 1.0) for c in columns] + [((r, TOTAL), -1.0)] for r in rows]
    equations += [[((r, c), 1.0) for r in rows] + [((TOTAL, c), -1.0)] for c in columns]
    equations.append([((r, TOTAL), 1.0) for r in rows] + [(grand, -1.0)])
    equations.append([((TOTAL, c), 1.0) for c in columns] + [(grand, -1.0)])
    return keys, equations, [{r: (r, TOTAL) for r in rows}, {c: (TOTAL, c) for c in columns}]


def _values(table: CountTable) -> dict[Key, int]:
    rows, cols = table.rows, table.columns
    if tuple(cols) == (TOTAL,):
        out = {(r, TOTAL): table.count(r) for r in rows}
    else:
        out = {(r, c): table.count(r, c) for r in rows for c in cols}
        out.update({(r, TOTAL): table.row_total(r) for r in rows})
        out.update({(TOTAL, c): table.column_total(c) for c in cols})
    out[(TOTAL, TOTAL)] = table.total
    return out


class _Links:
    """Union-find over (table id, key): the cells that are one quantity."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, Key], tuple[str, Key]] = {}

    def find(self, node: tuple[str, Key]) -> tuple[str, Key]:
        while self.parent.get(node, node) != node:
            node = self.parent[node]
        return node

    def union(self, a: tuple[str, Key], b: tuple[str, Key]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller name roots: deterministic


def _components(tables: Sequence[CountTable]) -> list[list[CountTable]]:
    """Tables grouped by ``linked`` (either side naming the other), in input order."""
    by_id = {t.id: t for t in tables}
    edges: dict[str, set[str]] = {t.id: set() for t in tables}
    for t in tables:
        for other in t.linked:
            if other in by_id and other != t.id:
                edges[t.id].add(other)
                edges[other].add(t.id)
    seen: set[str] = set()
    out = []
    for t in tables:
        if t.id in seen:
            continue
        group, stack = [], [t.id]
        seen.add(t.id)
        while stack:
            current = stack.pop()
            group.append(current)
            for other in sorted(edges[current] - seen):
                seen.add(other)
                stack.append(other)
        out.append([by_id[i] for i in sorted(group, key=[x.id for x in tables].index)])
    return out


def _link(component: list[CountTable], values: dict[str, dict[Key, int]]) -> _Links:
    """Share the margins of linked tables that are the same quantity: same labels and
    the same counts (tables that differ there cannot be counting the same cases)."""
    links = _Links()
    dims = {t.id: _structure(t.rows, t.columns)[2] for t in component}
    for i, a in enumerate(component):
        for b in component[i + 1:]:
            if a.id not in b.linked and b.id not in a.linked:
                continue
            grand = (TOTAL, TOTAL)
            if values[a.id][grand] == values[b.id][grand]:
                links.union((a.id, grand), (b.id, grand))
            for da in dims[a.id]:
                for db in dims[b.id]:
                    if set(da) == set(db) and all(
                            values[a.id][da[x]] == values[b.id][db[x]] for x in da):
                        for x in da:
                            links.union((a.id, da[x]), (b.id, db[x]))
    return links


@dataclass
class _Built:
    model: Model
    var: dict[tuple[str, Key], int]  # (table id, key) of the current release -> variable


def _build(component: list[CountTable], values: dict[str, dict[Key, int]],
           previous: Sequence[Mapping[str, ReleasedTable]], monotone: bool) -> _Built:
    links = _link(component, values)
    model = Model()
    var: dict[tuple[str, Key], int] = {}
    roots: dict[tuple[str, Key], int] = {}
    for t in component:
        keys, equations, _ = _structure(t.rows, t.columns)
        for key, inner in keys:
            root = links.find((t.id, key))
            if root not in roots:
                roots[root] = model.add(("new", *root), float(values[t.id][key]),
                                        known=True, current=True, inner=inner)
            var[(t.id, key)] = roots[root]
        for equation in equations:
            model.equations.append(_merge(var, t.id, equation))
    # Earlier releases, latest first: each is a layer of its own variables and
    # equations, and (the 'only added' model) every count is at least its earlier self.
    upper: dict[tuple[str, Key], int] = dict(var)
    for depth, layer in enumerate(reversed(previous)):
        old_roots: dict[tuple[str, Key], int] = {}
        for t in component:
            before = layer.get(t.id)
            if before is None:
                continue
            keys, equations, _ = _structure(before.rows, before.columns)
            old_var: dict[tuple[str, Key], int] = {}
            for key, inner in keys:
                cell = before.cells.get(key)
                shown = None if cell is None else cell.value
                root = links.find((t.id, key)) if (t.id, key) in var else (t.id, key)
                index = old_roots.get(root)
                if index is not None and model.known[index] and shown is not None \
                        and model.value[index] != shown:
                    index = None  # contradictory: not the same quantity after all
                if index is None:
                    index = model.add(("old", depth, *root),
                                      None if shown is None else float(shown),
                                      known=shown is not None, current=False, inner=inner)
                    old_roots.setdefault(root, index)
                elif shown is not None and not model.known[index]:
                    model.value[index], model.known[index] = float(shown), True
                old_var[(t.id, key)] = index
            for node, index in old_var.items():
                if monotone and node in upper and upper[node] != index:
                    model.at_least.append((upper[node], index))
            upper.update(old_var)
            for equation in equations:
                model.equations.append(_merge(old_var, t.id, equation))
    return _Built(model, var)


def _merge(var: Mapping[tuple[str, Key], int], table_id: str,
           equation: list[tuple[Key, float]]) -> dict[int, float]:
    out: dict[int, float] = {}
    for key, coef in equation:
        index = var[(table_id, key)]
        out[index] = out.get(index, 0.0) + coef
    return out


def _protected(model: Model, target: int, protection: int, done: set[int]) -> bool:
    """The attacker cannot narrow ``target`` below ``protection`` (fewest LPs first).

    Every table the attacker's LPs find is consistent with the release, as is the true
    one: a cell that differs by ``protection`` between two of them is protected too, and
    goes into ``done`` without an LP of its own.
    """
    for equation in model.equations:  # alone among unknowns in an equation: exact
        if target in equation and all(model.known[v] for v in equation if v != target):
            return False
    truth = {i: float(model.value[i] or 0) for i in range(len(model.names))
             if model.current[i] and not model.known[i]}
    points: list[dict[int, float]] = []
    _, hi = interval(model, target, upper_only=True, points=points)
    if hi - truth[target] < protection - EPS:
        lo, hi = interval(model, target, points=points)
        if hi - lo < protection - EPS:
            return False
    tables = [truth, *points]
    for i in truth:
        values = [t[i] for t in tables if i in t]
        if max(values) - min(values) >= protection - EPS:
            done.add(i)
    return True


def _suppress(built: _Built, *, k: int, protection: int,
              carried: set[tuple[str, Key]]) -> dict[int, Suppression]:
    model = built.model
    reason: dict[int, Suppression] = {}
    for node, index in sorted(built.var.items(), key=lambda item: item[1]):
        if node in carried:
            reason[index] = Suppression.CARRIED
    for index in range(len(model.names)):
        value = model.value[index]
        if model.current[index] and index not in reason and value and 0 < value < k:
            reason[index] = Suppression.PRIMARY
    for index in reason:
        model.known[index] = False
    inner_max = max((v or 0.0 for i, v in enumerate(model.value)
                     if model.current[i] and model.inner[i]), default=0.0)
    weight = [1.0 + (v or 0.0) if v else 1.0 + inner_max for v in model.value]
    queue = sorted(reason)
    done: set[int] = set()  # shown protected: by the attack, or moved >= protection
    rounds = 0
    while queue:
        target = queue.pop(0)
        if target in done:
            continue
        if _protected(model, target, protection, done):
            done.add(target)
            continue
        rounds += 1
        moved = deviation(model, target, float(protection), weight)
        if moved is None:  # pinned near a bound by another period's published cells
            moved = straddle(model, target, float(protection), weight)
        added = [i for i in (moved or {}) if model.known[i]]
        if moved is None or not added or rounds > MAX_ROUNDS:
            return _everything(model, reason)
        for index in added:
            reason[index] = Suppression.SECONDARY
            model.known[index] = False
        # Once hidden, the true table and the moved one are both consistent with the
        # release: every cell that moved by the protection level or more is protected
        # (the target among them); the others still need their check.
        done |= {i for i, d in moved.items() if d >= protection - EPS} | {target}
        queue = sorted(set(queue) | set(added))
    return reason


def _everything(model: Model, reason: dict[int, Suppression]) -> dict[int, Suppression]:
    """The last resort: hide every cell of the component. Every hidden cell can then rise
    without bound, whatever else the attacker knows (it only ever bounds from below)."""
    for index in range(len(model.names)):
        if model.current[index]:
            reason.setdefault(index, Suppression.SECONDARY)
            model.known[index] = False
    return reason


def protect(tables: Sequence[CountTable], *, k: int, protection: int,
            carried: Mapping[str, Iterable[tuple[str, str]]] | None = None,
            previous: Sequence[ReleasedTable] = ()) -> list[ReleasedTable]:
    """The tables as they may be published (in the order given).

    ``carried``: cells suppressed by an earlier release of the same period, by table id
    (keys no longer in a table are ignored). ``previous``: the earlier releases' tables
    of the same period, oldest first (a table id repeats once per release): their
    pattern is carried too, and the attacker is assumed to hold them all and to know
    that no count went down. Without them only the pattern is kept, which does NOT stop
    differencing when the new release hides cells the earlier one published.
    """
    if k < 2 or protection < 1:
        raise ValueError("k must be at least 2 and protection at least 1")
    layers: list[dict[str, ReleasedTable]] = []  # one per earlier release, in order
    for earlier in previous:
        layer = next((x for x in layers if earlier.id not in x), None)
        if layer is None:
            layer = {}
            layers.append(layer)
        layer[earlier.id] = earlier
    hidden: set[tuple[str, Key]] = {(tid, (str(r), str(c)))
                                    for tid, keys in (carried or {}).items() for r, c in keys}
    hidden |= {(t.id, key) for t in previous for key in t.suppressed}
    values = {t.id: _values(t) for t in tables}
    released: dict[str, ReleasedTable] = {}
    for component in _components(tables):
        try:
            built = _build(component, values, layers, monotone=True)
            reason = _suppress(built, k=k, protection=protection, carried=hidden)
        except InconsistentRelease:
            # Some count fell since the earlier release: the 'only added' model does not
            # hold, so an attacker cannot use it either; the carried pattern still does.
            built = _build(component, values, layers, monotone=False)
            reason = _suppress(built, k=k, protection=protection, carried=hidden)
        for t in component:
            cells = {}
            for key, _inner in _structure(t.rows, t.columns)[0]:
                index = built.var[(t.id, key)]
                why = reason.get(index)
                cells[key] = ReleasedCell(None if why else values[t.id][key], why)
            released[t.id] = ReleasedTable(t.id, t.rows, t.columns, cells)
    return [released[t.id] for t in tables]


def attack_interval(released: ReleasedTable, key: tuple[str, str]) -> tuple[float, float]:
    """What an attacker holding only ``released`` can tell about the cell ``key``: the
    least and greatest value it can take (``hi`` is inf when unbounded); a published
    cell's interval is its value. Raises :class:`InconsistentRelease` if no table fits."""
    keys, equations, _ = _structure(released.rows, released.columns)
    model = Model()
    var: dict[tuple[str, Key], int] = {}
    for cell_key, inner in keys:
        cell = released.cells[cell_key]
        shown = None if cell.value is None else float(cell.value)
        var[(released.id, cell_key)] = model.add(cell_key, shown, known=shown is not None,
                                                 current=False, inner=inner)
    model.equations = [_merge(var, released.id, eq) for eq in equations]
    target = var[(released.id, (str(key[0]), str(key[1])))]
    if model.known[target]:
        value = float(model.value[target] or 0)
        return value, value
    return interval(model, target)


def pattern_of(released: Iterable[ReleasedTable]) -> dict[str, list[list[str]]]:
    """The suppression pattern (JSON-ready, sorted): table id -> [[row, column], ...]."""
    return {t.id: [list(key) for key in sorted(t.suppressed)] for t in released}
