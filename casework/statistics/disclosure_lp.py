"""The linear programs behind disclosure control: the attacker's and the protector's.

A :class:`Model` is what an attacker holding the published tables knows: one variable per
cell or margin (a margin shared by linked tables is ONE variable), the additive equations
of every table (cells of a row sum to the row total, of a column to the column total,
row totals to the grand total), the published values, non-negativity, and, when an
earlier release of the same period is known, the earlier release's own variables and
equations plus ``new >= old`` for every cell (a later release of a period only adds
cases). Integer constraints are relaxed, as in the standard audit.

- :func:`interval` is the attacker: the least and greatest value a suppressed cell can
  take over every table consistent with what was published.
- :func:`deviation` is the protector (the classic network/LP heuristic for secondary
  suppression): the cheapest way to move one suppressed cell up by the protection level
  while every published equation still holds; the published cells it has to move are the
  ones to suppress. Moving from the true table, so after suppressing them the true table
  and the moved one are both consistent with the release: the attacker's interval is at
  least the protection level wide by construction.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from .lp_program import INFEASIBLE, SOLVED, UNBOUNDED, Program, Row

EPS = 1e-7  # LP tolerance: deviations smaller than this are numerical noise


class InconsistentRelease(ValueError):
    """No table satisfies the published values: the release contradicts itself (or an
    earlier release of the same period under the 'cases are only added' model)."""


@dataclass
class Model:
    """Variables, equations and what is known about each variable.

    ``value[i]``: the true count for a variable of the release being protected, the
    published value (or None if suppressed) for an earlier release's variable.
    ``known[i]``: the attacker sees the value. ``current[i]``: the variable belongs to the
    release being protected (the protector may choose to hide it). ``inner[i]``: an inner
    cell, not a margin (used only to price suppressing a zero).
    """

    names: list[Hashable] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    known: list[bool] = field(default_factory=list)
    current: list[bool] = field(default_factory=list)
    inner: list[bool] = field(default_factory=list)
    equations: list[dict[int, float]] = field(default_factory=list)  # sum c*x == 0
    at_least: list[tuple[int, int]] = field(default_factory=list)  # x[a] >= x[b]
    # The attacker's program for the state it was built in (see _attacker): reused while
    # what is known does not change, so each cell's interval is one more objective.
    _attacker: tuple[tuple[object, ...], list[int], Program] | None = field(
        default=None, repr=False, compare=False)

    def add(self, name: Hashable, value: float | None, *, known: bool, current: bool,
            inner: bool) -> int:
        self.names.append(name)
        self.value.append(value)
        self.known.append(known)
        self.current.append(current)
        self.inner.append(inner)
        return len(self.names) - 1


def _unknowns(model: Model) -> list[int]:
    return [i for i in range(len(model.names)) if not model.known[i]]


def _rows(model: Model, column: Mapping[int, int]) -> list[Row]:
    """The attacker's equality and inequality rows over the unknowns (``column`` maps a
    variable to its LP column); rows with no unknown are dropped (they hold already)."""
    rows: list[Row] = []
    for equation in model.equations:
        coefs: dict[int, float] = {}
        rhs = 0.0
        for var, coef in equation.items():
            if var in column:
                coefs[column[var]] = coefs.get(column[var], 0.0) + coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        coefs = {j: c for j, c in coefs.items() if c}
        if coefs:
            rows.append(Row(coefs, rhs, rhs))
    for a, b in model.at_least:  # x_a >= x_b  <=>  x_b - x_a <= 0
        coefs = {}
        rhs = 0.0
        for var, coef in ((b, 1.0), (a, -1.0)):
            if var in column:
                coefs[column[var]] = coefs.get(column[var], 0.0) + coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        coefs = {j: c for j, c in coefs.items() if c}
        if coefs:
            rows.append(Row(coefs, -math.inf, rhs))
    return rows


def _attacker(model: Model) -> tuple[dict[int, int], Program]:
    """The attacker's program over the model's unknowns, and each unknown's column:
    built once per state of what the attacker knows (which variables, their values, the
    equations), then only re-solved."""
    state = (tuple(model.known), tuple(v if k else None for v, k in
                                       zip(model.value, model.known, strict=True)),
             len(model.equations), len(model.at_least))
    if model._attacker is None or model._attacker[0] != state:
        unknowns = _unknowns(model)
        column = {var: j for j, var in enumerate(unknowns)}
        model._attacker = (state, unknowns, Program([(0.0, None)] * len(unknowns),
                                                    _rows(model, column)))
    _, unknowns, program = model._attacker
    return {var: j for j, var in enumerate(unknowns)}, program


def interval(model: Model, target: int, *, upper_only: bool = False,
             points: list[dict[int, float]] | None = None) -> tuple[float, float]:
    """The attacker's [min, max] of the unknown variable ``target`` (max may be inf).

    With ``upper_only`` the minimum is not solved (returned as -inf): enough when the
    maximum alone already shows the cell is protected, which saves an LP. ``points``
    collects the tables the LPs found (unknown variable -> value): each is consistent
    with the release, which shows other cells' intervals wide without another LP.
    """
    column, program = _attacker(model)
    result = program.minimise({column[target]: -1.0})
    if result.status == INFEASIBLE:
        raise InconsistentRelease("no table is consistent with the release")
    hi = math.inf if result.status == UNBOUNDED else -result.value
    if points is not None and result.status == SOLVED:
        points.append({var: float(result.x[j]) for var, j in column.items()})
    if upper_only:
        return -math.inf, hi
    result = program.minimise({column[target]: 1.0})
    if result.status != SOLVED:  # bounded below by 0, so only an inconsistency fails here
        raise InconsistentRelease("no table is consistent with the release")
    if points is not None:
        points.append({var: float(result.x[j]) for var, j in column.items()})
    return result.value, hi


def deviation(model: Model, target: int, amount: float,
              weight: Sequence[float]) -> dict[int, float] | None:
    """How far each variable of the current release moves (absolute, only those that
    move) when ``target`` rises by ``amount`` (falls, if negative) from its true value
    with every equation still holding; the published ones among them are the cells to
    suppress.

    Minimises the weighted movement of published variables (suppressed ones move for
    free). An earlier release's suppressed variables are free unknowns within its own
    equations, and every current variable must stay >= its earlier counterpart. Returns
    None if no such movement exists (the data break the 'only added' model).
    """
    n = len(model.names)
    cur = [i for i in range(n) if model.current[i]]
    old = [i for i in range(n) if not model.current[i] and not model.known[i]]
    up = {var: j for j, var in enumerate(cur)}
    down = {var: len(cur) + j for j, var in enumerate(cur)}
    prev = {var: 2 * len(cur) + j for j, var in enumerate(old)}
    width = 2 * len(cur) + len(old)
    cost: dict[int, float] = {}
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * width
    for var in cur:
        price = 0.0 if not model.known[var] else weight[var]
        cost[up[var]] = cost[down[var]] = price
        bounds[down[var]] = (0.0, float(model.value[var] or 0))
    if amount >= 0:
        bounds[up[target]], bounds[down[target]] = (amount, amount), (0.0, 0.0)
    elif -amount <= float(model.value[target] or 0):  # down: a cell at its upper bound
        bounds[up[target]], bounds[down[target]] = (0.0, 0.0), (-amount, -amount)
    else:
        return None
    rows: list[Row] = []
    for terms, at_most in ([(e, False) for e in model.equations]
                           + [({b: 1.0, a: -1.0}, True) for a, b in model.at_least]):
        # An equation of the tables, or (moved) x_a >= x_b as "x_b - x_a <= 0".
        coefs: dict[int, float] = {}
        rhs = 0.0
        for var, coef in terms.items():
            if var in up:  # the current release: its true value plus its movement
                coefs[up[var]] = coefs.get(up[var], 0.0) + coef
                coefs[down[var]] = coefs.get(down[var], 0.0) - coef
                # (zero in sum over an equation of the release's own tables, which the
                # truth satisfies; not across periods, where constants join it)
                rhs -= coef * float(model.value[var] or 0)
            elif var in prev:  # an earlier release: its own equations, its published rhs
                coefs[prev[var]] = coefs.get(prev[var], 0.0) + coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        coefs = {j: c for j, c in coefs.items() if c}
        if coefs:
            rows.append(Row(coefs, -math.inf if at_most else rhs, rhs))
    result = Program(bounds, rows).minimise(cost)
    if result.status != SOLVED:
        return None
    x = result.x
    moved = {var: abs(float(x[up[var]] - x[down[var]])) for var in cur}
    # A variable bought both up and down (net zero) still had to be hidden to move.
    return {var: moved[var] for var in cur if x[up[var]] > EPS or x[down[var]] > EPS}


def straddle(model: Model, target: int, amount: float,
             weight: Sequence[float]) -> dict[int, float] | None:
    """Like :func:`deviation`, for a cell that can move by ``amount`` in neither
    direction alone (pinned close to a bound by another period's published cells): the
    two movements, up by what room there is and down by the rest, together (the true
    table and both moved ones are consistent with the release: the interval is at least
    ``amount`` wide). None if even hiding every cell of the release leaves too little."""
    saved = list(model.known)
    for i in range(len(model.names)):
        if model.current[i]:
            model.known[i] = False
    try:
        lo, hi = interval(model, target)
    finally:
        model.known[:] = saved
    truth = float(model.value[target] or 0)
    up = min(amount, hi - truth)
    down = amount - up
    if hi - lo < amount - EPS or down > truth - lo + EPS:
        return None
    rising = deviation(model, target, up, weight) if up > EPS else {}
    falling = deviation(model, target, -down, weight) if down > EPS else {}
    if rising is None or falling is None:
        return None
    moved = dict(rising)
    for var, distance in falling.items():
        moved[var] = max(moved.get(var, 0.0), distance)
    return moved
