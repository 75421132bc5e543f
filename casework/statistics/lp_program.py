"""One linear program in HiGHS, built once and solved for one objective after another.

Disclosure control solves many small programs that share their constraints: the
attacker's least and greatest value of each hidden cell over the same published tables
(:func:`.disclosure_lp.interval`). Rebuilding the program for each objective, as
``scipy.optimize.linprog`` must, costs more than solving it: the input checks, the dense
to sparse conversion, a new solver each time. Here the constraints go into one HiGHS
instance (through ``highspy``, HiGHS's own Python binding, the solver SciPy wraps too),
and only the objective changes between solves, each starting from the last basis.

Sparse rows in, and the SciPy statuses out (0 solved, 2 infeasible, 3 unbounded), so the
callers read as they did with ``linprog``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs

SOLVED, INFEASIBLE, UNBOUNDED = 0, 2, 3

# highspy.Highs, the binding's Python class, installs a logging callback that prints
# HiGHS's banner on standard output once per process (into the apps' logs); _Highs, the
# class it extends and exports, solves the same without it.
_Solver = _Highs
_STATUS = {highspy.HighsModelStatus.kOptimal: SOLVED,
           highspy.HighsModelStatus.kInfeasible: INFEASIBLE,
           highspy.HighsModelStatus.kUnbounded: UNBOUNDED}


@dataclass(frozen=True)
class Row:
    """``lower <= sum(coef * x[column]) <= upper`` (an equation: lower == upper)."""

    coefs: Mapping[int, float]
    lower: float
    upper: float


@dataclass(frozen=True)
class Solution:
    status: int  # SOLVED, INFEASIBLE or UNBOUNDED
    value: float  # the objective's optimum (nan unless SOLVED)
    x: Sequence[float]  # the optimal point (empty unless SOLVED)


class Program:
    """Columns with bounds (``None``: no upper bound) and sparse rows; :meth:`minimise`
    any objective over them, as often as needed."""

    def __init__(self, bounds: Sequence[tuple[float, float | None]], rows: Sequence[Row]):
        self._highs = _Solver()
        self._highs.setOptionValue("output_flag", False)
        self._width = len(bounds)
        self._cost: dict[int, float] = {}
        lower = np.array([b[0] for b in bounds], dtype=np.float64)
        upper = np.array([highspy.kHighsInf if b[1] is None else b[1] for b in bounds],
                         dtype=np.float64)
        self._highs.addVars(self._width, lower, upper)
        if rows:
            starts: list[int] = [0]
            indices: list[int] = []
            values: list[float] = []
            for row in rows:
                indices.extend(row.coefs)
                values.extend(row.coefs.values())
                starts.append(len(indices))
            self._highs.addRows(
                len(rows), np.array([r.lower for r in rows], dtype=np.float64),
                np.array([r.upper for r in rows], dtype=np.float64), len(indices),
                np.array(starts[:-1], dtype=np.int32), np.array(indices, dtype=np.int32),
                np.array(values, dtype=np.float64))

    def minimise(self, cost: Mapping[int, float]) -> Solution:
        """The least value of ``sum(cost[j] * x[j])`` (negate it for the greatest)."""
        changed = {j: 0.0 for j in self._cost if j not in cost}
        changed.update(cost)
        if changed:
            self._highs.changeColsCost(len(changed), np.array(list(changed), dtype=np.int32),
                                       np.array(list(changed.values()), dtype=np.float64))
        self._cost = {j: c for j, c in cost.items() if c}
        status = self._run()
        if status == SOLVED:
            return Solution(SOLVED, float(self._highs.getInfo().objective_function_value),
                            list(self._highs.getSolution().col_value))
        return Solution(status, math.nan, [])

    def _run(self) -> int:
        self._highs.run()
        status = self._highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # Presolve may stop at "one or the other"; the simplex without it tells which.
            self._highs.setOptionValue("presolve", "off")
            try:
                self._highs.run()
            finally:
                self._highs.setOptionValue("presolve", "choose")
            status = self._highs.getModelStatus()
        if status not in _STATUS:
            raise RuntimeError(f"LP failed: {status}")  # pragma: no cover
        return _STATUS[status]
