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

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

EPS = 1e-7  # LP tolerance: deviations smaller than this are numerical noise


def linprog(cost: np.ndarray, *, A_ub: np.ndarray | None = None,  # noqa: N803
            b_ub: np.ndarray | None = None, A_eq: np.ndarray | None = None,  # noqa: N803
            b_eq: np.ndarray | None = None,
            bounds: Sequence[tuple[float, float | None]], method: str = "highs"
            ) -> OptimizeResult:
    """Minimise ``cost @ x`` subject to the constraints, with HiGHS, as
    ``scipy.optimize.linprog`` does (status 0 solved, 2 infeasible, 3 unbounded), through
    ``scipy.optimize.milp`` with no integer variable: the same solver without linprog's
    input checks, which cost more than solving these small programs."""
    constraints = []
    if A_eq is not None:
        constraints.append(LinearConstraint(A_eq, b_eq, b_eq))
    if A_ub is not None:
        constraints.append(LinearConstraint(A_ub, -np.inf, b_ub))
    lower = np.array([b[0] for b in bounds], dtype=float)
    upper = np.array([np.inf if b[1] is None else b[1] for b in bounds], dtype=float)
    return milp(cost, constraints=constraints, bounds=Bounds(lower, upper))


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


def _constraints(model: Model, column: Mapping[int, int], width: int) -> tuple[
        np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The attacker's equality and inequality rows over the unknowns (``column`` maps a
    variable to its LP column); rows with no unknown are dropped (they hold already)."""
    eq_rows: list[np.ndarray] = []
    eq_rhs: list[float] = []
    for equation in model.equations:
        row = np.zeros(width)
        rhs = 0.0
        for var, coef in equation.items():
            if var in column:
                row[column[var]] += coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        if row.any():
            eq_rows.append(row)
            eq_rhs.append(rhs)
    ub_rows: list[np.ndarray] = []
    ub_rhs: list[float] = []
    for a, b in model.at_least:  # x_a >= x_b  <=>  x_b - x_a <= 0
        row = np.zeros(width)
        rhs = 0.0
        for var, coef in ((b, 1.0), (a, -1.0)):
            if var in column:
                row[column[var]] += coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        if row.any():
            ub_rows.append(row)
            ub_rhs.append(rhs)
    return (np.array(eq_rows) if eq_rows else None, np.array(eq_rhs) if eq_rows else None,
            np.array(ub_rows) if ub_rows else None, np.array(ub_rhs) if ub_rows else None)


def interval(model: Model, target: int, *, upper_only: bool = False,
             points: list[dict[int, float]] | None = None) -> tuple[float, float]:
    """The attacker's [min, max] of the unknown variable ``target`` (max may be inf).

    With ``upper_only`` the minimum is not solved (returned as -inf): enough when the
    maximum alone already shows the cell is protected, which saves an LP. ``points``
    collects the tables the LPs found (unknown variable -> value): each is consistent
    with the release, which shows other cells' intervals wide without another LP.
    """
    unknowns = _unknowns(model)
    column = {var: j for j, var in enumerate(unknowns)}
    a_eq, b_eq, a_ub, b_ub = _constraints(model, column, len(unknowns))
    cost = np.zeros(len(unknowns))
    cost[column[target]] = 1.0
    bounds = [(0.0, None)] * len(unknowns)
    result = linprog(-cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                     method="highs")
    if result.status == 2:
        raise InconsistentRelease("no table is consistent with the release")
    hi = math.inf if result.status == 3 else float(-result.fun)
    if result.status not in (0, 3):
        raise RuntimeError(f"LP failed: {result.message}")  # pragma: no cover
    if points is not None and result.status == 0:
        points.append({var: float(result.x[j]) for var, j in column.items()})
    if upper_only:
        return -math.inf, hi
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                     method="highs")
    if result.status != 0:  # bounded below by 0, so only an inconsistency fails here
        raise InconsistentRelease("no table is consistent with the release")
    if points is not None:
        points.append({var: float(result.x[j]) for var, j in column.items()})
    return float(result.fun), hi


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
    cost = np.zeros(width)
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
    eq_rows: list[np.ndarray] = []
    eq_rhs: list[float] = []
    for equation in model.equations:
        row = np.zeros(width)
        rhs = 0.0
        for var, coef in equation.items():
            if var in up:  # the current release: its true value plus its movement
                row[up[var]] += coef
                row[down[var]] -= coef
                # (zero in sum over an equation of the release's own tables, which the
                # truth satisfies; not across periods, where constants join it)
                rhs -= coef * float(model.value[var] or 0)
            elif var in prev:  # an earlier release: its own equations, its published rhs
                row[prev[var]] += coef
            else:
                rhs -= coef * float(model.value[var] or 0)
        if row.any():
            eq_rows.append(row)
            eq_rhs.append(rhs)
    ub_rows: list[np.ndarray] = []
    ub_rhs: list[float] = []
    for a, b in model.at_least:  # (moved) x_a >= x_b, as "x_b - x_a <= 0"
        row = np.zeros(width)
        rhs = 0.0
        for var, sign in ((b, 1.0), (a, -1.0)):
            if var in up:  # value + up - down
                row[up[var]] += sign
                row[down[var]] -= sign
                rhs -= sign * float(model.value[var] or 0)
            elif var in prev:
                row[prev[var]] += sign
            else:
                rhs -= sign * float(model.value[var] or 0)
        if row.any():
            ub_rows.append(row)
            ub_rhs.append(rhs)
    result = linprog(cost, A_ub=np.array(ub_rows) if ub_rows else None,
                     b_ub=np.array(ub_rhs) if ub_rows else None,
                     A_eq=np.array(eq_rows) if eq_rows else None,
                     b_eq=np.array(eq_rhs) if eq_rows else None, bounds=bounds,
                     method="highs")
    if result.status != 0:
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
