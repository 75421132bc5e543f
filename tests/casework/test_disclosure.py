"""Disclosure control, checked as an attacker would check it.

The attacker here is written independently of ``casework.statistics.disclosure_lp``: one
variable per published or suppressed cell of every table it holds, published cells
pinned by their bounds, every table's additive equations, linked margins equal, and (when
it holds two releases of one period) ``new >= old`` cell by cell. It then asks HiGHS for
each suppressed cell's least and greatest value.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from casework.statistics.disclosure import (
    InconsistentRelease,
    attack_interval,
    pattern_of,
    protect,
    release_days,
)
from casework.statistics.tables import (
    TOTAL,
    CountTable,
    ReleasedCell,
    ReleasedTable,
    Suppression,
)

SETTINGS = settings(max_examples=40, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the independent attacker -------------------------------------------------------------

class Attacker:
    """Everything the attacker knows, as variables and linear constraints."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str, tuple[str, str]], int] = {}
        self.bounds: list[tuple[float, float | None]] = []
        self.eq: list[dict[int, float]] = []
        self.ge: list[tuple[int, int]] = []  # x[a] - x[b] >= 0

    def hold(self, tag: str, table: ReleasedTable) -> None:
        one_d = tuple(table.columns) == (TOTAL,)
        for key, cell in table.cells.items():
            self.index[(tag, table.id, key)] = len(self.bounds)
            v = cell.value
            self.bounds.append((0.0, None) if v is None else (float(v), float(v)))

        def x(r: str, c: str) -> int:
            return self.index[(tag, table.id, (r, c))]
        if one_d:
            self.eq.append({**{x(r, TOTAL): 1.0 for r in table.rows}, x(TOTAL, TOTAL): -1.0})
            return
        for r in table.rows:
            self.eq.append({**{x(r, c): 1.0 for c in table.columns}, x(r, TOTAL): -1.0})
        for c in table.columns:
            self.eq.append({**{x(r, c): 1.0 for r in table.rows}, x(TOTAL, c): -1.0})
        self.eq.append({**{x(r, TOTAL): 1.0 for r in table.rows}, x(TOTAL, TOTAL): -1.0})

    def same(self, a: tuple[str, str, tuple[str, str]],
             b: tuple[str, str, tuple[str, str]]) -> None:
        self.eq.append({self.index[a]: 1.0, self.index[b]: -1.0})

    def grew(self, new: tuple[str, str, tuple[str, str]],
             old: tuple[str, str, tuple[str, str]]) -> None:
        self.ge.append((self.index[new], self.index[old]))

    def width(self, node: tuple[str, str, tuple[str, str]]) -> float:
        n = len(self.bounds)
        a_eq = np.zeros((len(self.eq), n))
        for i, row in enumerate(self.eq):
            for j, coef in row.items():
                a_eq[i, j] += coef
        a_ub = np.zeros((max(len(self.ge), 1), n))
        for i, (a, b) in enumerate(self.ge):
            a_ub[i, a], a_ub[i, b] = -1.0, 1.0
        c = np.zeros(n)
        c[self.index[node]] = 1.0
        kw = dict(A_eq=a_eq, b_eq=np.zeros(len(self.eq)), A_ub=a_ub,
                  b_ub=np.zeros(a_ub.shape[0]), bounds=self.bounds, method="highs")
        low = linprog(c, **kw)
        high = linprog(-c, **kw)
        assert low.status == 0, low.message
        assert high.status in (0, 3), high.message
        return math.inf if high.status == 3 else -high.fun - low.fun


# --- random tables ------------------------------------------------------------------------

@dataclass
class Drawn:
    tables: list[CountTable]
    shared: list[tuple[tuple[str, tuple[str, str]], tuple[str, tuple[str, str]]]]


@st.composite
def matrices(draw: st.DrawFn) -> list[list[int]]:
    rows = draw(st.integers(2, 6))
    cols = draw(st.integers(1, 5))
    small = st.one_of(st.integers(0, 30), st.integers(0, 6))  # plenty of small cells
    return [[draw(small) for _ in range(cols)] for _ in range(rows)]


def table(tid: str, m: Sequence[Sequence[int]], linked: tuple[str, ...] = (),
          one_d: bool = False) -> CountTable:
    rows = tuple(f"u{i}" for i in range(len(m)))
    if one_d:
        return CountTable(tid, rows, (TOTAL,), {(r, TOTAL): sum(m[i])
                                                for i, r in enumerate(rows)}, linked)
    cols = tuple(f"{tid}{j}" for j in range(len(m[0])))
    return CountTable(tid, rows, cols, {(r, c): m[i][j] for i, r in enumerate(rows)
                                        for j, c in enumerate(cols)}, linked)


@st.composite
def populations(draw: st.DrawFn) -> Drawn:
    """One table, or a pair (or a table and its 1-D margin) counting the same cases."""
    m = draw(matrices())
    shape = draw(st.sampled_from(["one", "pair", "margin"]))
    if shape == "one":
        return Drawn([table("a", m, one_d=len(m[0]) == 1 and draw(st.booleans()))], [])
    rows = [f"u{i}" for i in range(len(m))]
    shared = [(("a", (TOTAL, TOTAL)), ("b", (TOTAL, TOTAL)))]
    shared += [(("a", (r, TOTAL)), ("b", (r, TOTAL))) for r in rows]
    if shape == "margin":
        return Drawn([table("a", m, ("b",)), table("b", m, one_d=True)], shared)
    width = draw(st.integers(1, 4))
    other = []
    for row in m:  # the same row totals split over other columns
        cuts = sorted(draw(st.lists(st.integers(0, sum(row)), min_size=width - 1,
                                    max_size=width - 1)))
        bounds = [0, *cuts, sum(row)]
        other.append([bounds[j + 1] - bounds[j] for j in range(width)])
    return Drawn([table("a", m, ("b",)), table("b", other, ("a",))], shared)


def attacker_for(drawn: Drawn, released: Sequence[ReleasedTable], tag: str = "r",
                 attacker: Attacker | None = None) -> Attacker:
    attacker = attacker or Attacker()
    for t in released:
        attacker.hold(tag, t)
    for (ta, ka), (tb, kb) in drawn.shared:
        attacker.same((tag, ta, ka), (tag, tb, kb))
    return attacker


# --- properties ---------------------------------------------------------------------------

@SETTINGS
@given(populations(), st.sampled_from([(3, 3), (5, 5), (3, 5)]))
def test_no_small_cell_and_every_suppressed_cell_is_protected(drawn: Drawn,
                                                              kp: tuple[int, int]) -> None:
    k, p = kp
    released = protect(drawn.tables, k=k, protection=p)
    attacker = attacker_for(drawn, released)
    for t in released:
        for key, cell in t.cells.items():
            assert cell.value is None or not 0 < cell.value < k, (t.id, key, cell)
            assert (cell.value is None) == (cell.suppressed is not None)
        for key in t.suppressed:
            assert attacker.width(("r", t.id, key)) >= p - 1e-6, (t.id, key)
    for (ta, ka), (tb, kb) in drawn.shared:  # linked margins: hidden in both or neither
        by_id = {t.id: t for t in released}
        assert (by_id[ta].cell(*ka).value is None) == (by_id[tb].cell(*kb).value is None)


@settings(SETTINGS, max_examples=30)  # two protections and a double attack per example
@given(populations(), st.data())
def test_two_releases_of_a_period_reveal_nothing_by_difference(drawn: Drawn,
                                                               data: st.DataObject) -> None:
    k = p = 5
    first = protect(drawn.tables, k=k, protection=p)
    later = []  # the same period, a few cases added (to a cell and so to its margins)
    for t in drawn.tables:
        cells = dict(t.cells)
        for key in data.draw(st.lists(st.sampled_from(sorted(cells)), max_size=3)):
            cells[key] += data.draw(st.integers(1, 3))
        later.append(CountTable(t.id, t.rows, t.columns, cells, t.linked))
    if len(later) == 2:  # keep a linked pair counting the same cases: add to both
        a, b = later
        diff = {r: a.row_total(r) - b.row_total(r) for r in b.rows}
        cells = dict(b.cells)
        for r, extra in diff.items():
            if extra > 0:
                key = (r, b.columns[0])
                cells[key] = cells.get(key, 0) + extra
        b = CountTable(b.id, b.rows, b.columns, cells, b.linked)
        a_cells = dict(a.cells)
        for r, extra in diff.items():
            if extra < 0:
                key = (r, a.columns[0])
                a_cells[key] = a_cells.get(key, 0) - extra
        later = [CountTable(a.id, a.rows, a.columns, a_cells, a.linked), b]
    second = protect(later, k=k, protection=p, carried=pattern_of(first), previous=first)

    carried = pattern_of(first)
    for t in second:  # the earlier pattern is kept
        assert {tuple(key) for key in carried[t.id]} <= set(t.suppressed)
        for cell in t.cells.values():
            assert cell.value is None or not 0 < cell.value < k
    attacker = attacker_for(drawn, first, "1")
    attacker = attacker_for(drawn, second, "2", attacker)
    for t in first:
        for key in t.cells:
            attacker.grew(("2", t.id, key), ("1", t.id, key))
    for tag, release in (("1", first), ("2", second)):
        for t in release:
            for key in t.suppressed:
                assert attacker.width((tag, t.id, key)) >= p - 1e-6, (tag, t.id, key)


@SETTINGS
@given(populations())
def test_the_same_input_gives_the_same_pattern(drawn: Drawn) -> None:
    one = pattern_of(protect(drawn.tables, k=5, protection=5))
    again = pattern_of(protect(list(drawn.tables), k=5, protection=5))
    assert one == again


# --- examples -----------------------------------------------------------------------------

def grid(released: ReleasedTable) -> list[list[str]]:
    cols = [*released.columns, TOTAL] if released.columns != (TOTAL,) else [TOTAL]
    return [[released.cell(r, c).shown for c in cols] for r in [*released.rows, TOTAL]]


def test_textbook_three_by_three() -> None:
    m = [[2, 10, 12], [8, 15, 9], [20, 7, 11]]
    released, = protect([table("t", m)], k=5, protection=5)
    assert released.cell("u0", "t0") == ReleasedCell(None, Suppression.PRIMARY)
    assert all(released.cell(r, TOTAL).value is not None for r in released.rows)
    assert released.cell(TOTAL, TOTAL).value == 94
    # A single hidden cell per row or column would be exact: at least two in each.
    for r in released.rows:
        hidden = [c for c in released.columns if released.cell(r, c).value is None]
        assert len(hidden) != 1
    for c in released.columns:
        hidden = [r for r in released.rows if released.cell(r, c).value is None]
        assert len(hidden) != 1
    for key in released.suppressed:
        lo, hi = attack_interval(released, key)
        assert hi - lo >= 5
    assert len(released.suppressed) == 4  # the cheapest pattern: one rectangle


def test_a_row_with_one_small_cell_hides_a_partner_in_its_row() -> None:
    released, = protect([table("t", [[30, 1, 40], [25, 30, 35]])], k=5, protection=5)
    row = [released.cell("u0", c).value for c in released.columns]
    assert row.count(None) >= 2
    lo, hi = attack_interval(released, ("u0", "t1"))
    assert lo == 0 and hi - lo >= 5


def test_all_zero_rows_are_published_as_zeros() -> None:
    released, = protect([table("t", [[0, 0, 0], [9, 12, 7], [0, 0, 0]])], k=5,
                        protection=5)
    assert not released.suppressed
    assert grid(released)[0] == ["0", "0", "0", "0"]


def test_a_threshold_of_three_hides_less_than_five() -> None:
    m = [[3, 9, 14], [4, 12, 10], [11, 8, 20]]
    at3, = protect([table("t", m)], k=3, protection=3)
    at5, = protect([table("t", m)], k=5, protection=5)
    assert at3.cell("u0", "t0").value == 3 and not at3.suppressed
    assert {("u0", "t0"), ("u1", "t0")} <= at5.suppressed


def test_a_small_margin_is_hidden_and_protected() -> None:
    released, = protect([table("t", [[1, 2], [9, 30], [12, 8]])], k=5, protection=5)
    assert released.cell("u0", TOTAL).suppressed is Suppression.PRIMARY
    for key in released.suppressed:
        lo, hi = attack_interval(released, key)
        assert hi - lo >= 5


def test_linked_tables_hide_the_same_margins() -> None:
    by_category = table("a", [[3, 9], [10, 12]], ("b",))
    by_unit = table("b", [[3, 9], [10, 12]], one_d=True)
    a, b = protect([by_category, by_unit], k=5, protection=5)
    for r in a.rows:
        assert (a.cell(r, TOTAL).value is None) == (b.cell(r).value is None)
    assert (a.cell(TOTAL, TOTAL).value is None) == (b.cell(TOTAL).value is None)


def test_carried_cells_are_hidden_again_with_their_reason() -> None:
    released, = protect([table("t", [[20, 10, 12], [8, 15, 9], [20, 7, 11]])], k=5,
                        protection=5, carried={"t": [("u0", "t0"), ("gone", "t0")]})
    assert released.cell("u0", "t0").suppressed is Suppression.CARRIED
    assert ("gone", "t0") not in released.cells
    for key in released.suppressed:
        lo, hi = attack_interval(released, key)
        assert hi - lo >= 5


def test_a_one_dimensional_table() -> None:
    released, = protect([table("t", [[2], [30], [40]], one_d=True)], k=5, protection=5)
    assert released.cell("u0").value is None
    assert len(released.suppressed) >= 2
    assert attack_interval(released, ("u1", TOTAL))[1] - 0 >= 5


def test_the_attack_handles_published_unbounded_and_inconsistent_tables() -> None:
    cells = {("a", TOTAL): ReleasedCell(None, Suppression.PRIMARY),
             ("b", TOTAL): ReleasedCell(7), (TOTAL, TOTAL): ReleasedCell(None)}
    open_ended = ReleasedTable("t", ("a", "b"), (TOTAL,), cells)
    assert attack_interval(open_ended, ("a", TOTAL)) == (0.0, math.inf)
    assert attack_interval(open_ended, ("b", TOTAL)) == (7.0, 7.0)
    broken = ReleasedTable("t", ("a", "b"), (TOTAL,), {
        ("a", TOTAL): ReleasedCell(None), ("b", TOTAL): ReleasedCell(9),
        (TOTAL, TOTAL): ReleasedCell(5)})
    with pytest.raises(InconsistentRelease):
        attack_interval(broken, ("a", TOTAL))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        protect([table("t", [[1]])], k=1, protection=5)


@dataclass
class Days:
    groups: dict[str, tuple[int, float | None, float | None]]


def test_days_hide_small_groups_and_one_more_beside_a_total() -> None:
    out = release_days(Days({"a": (3, 4.0, 9.0), "b": (12, 5.0, 20.0),
                             "c": (7, 2.0, 6.0), TOTAL: (22, 4.0, 18.0)}), 5)
    assert out["a"].n is None and out["a"].suppressed is Suppression.PRIMARY
    assert out["c"].suppressed is Suppression.SECONDARY  # the smaller published part
    assert out["b"].n == 12 and out[TOTAL].n == 22
    alone = release_days(Days({"a": (3, 4.0, 9.0), "b": (0, None, None),
                               TOTAL: (3, 4.0, 9.0)}), 5)
    assert alone[TOTAL].n is None and alone["b"].n == 0
    plain = release_days(Days({"a": (3, 1.0, 2.0), "b": (9, 3.0, 8.0)}), 5)
    assert plain["a"].n is None and plain["b"].median == 3.0


def test_three_releases_of_a_period_reveal_nothing_by_difference() -> None:
    """Each release is protected against every earlier one: the attacker holds all three
    and knows counts only grow. (With only the carried pattern, the second release of
    [[0, 0], [1, 4]] plus a case would show a row total exactly: see the docs.)"""
    rng = random.Random(12)
    for _ in range(4):
        m = [[rng.choice([0, 1, 2, 4, 7, 12]) for _ in range(3)] for _ in range(4)]
        releases: list[list[ReleasedTable]] = []
        for _ in range(3):
            earlier = [t for release in releases for t in release]
            releases.append(protect([table("t", m)], k=5, protection=5,
                                    carried=pattern_of(earlier[-1:]), previous=earlier))
            for _ in range(2):
                m[rng.randrange(4)][rng.randrange(3)] += rng.randint(1, 3)
        attacker = Attacker()
        for n, release in enumerate(releases):
            attacker_for(Drawn([], []), release, str(n), attacker)
        for n in (1, 2):
            for key in releases[n][0].cells:
                attacker.grew((str(n), "t", key), (str(n - 1), "t", key))
        for n, release in enumerate(releases):
            assert set(releases[max(n - 1, 0)][0].suppressed) <= set(release[0].suppressed)
            for key in release[0].suppressed:
                assert attacker.width((str(n), "t", key)) >= 5 - 1e-6, (n, key)


def test_days_are_hidden_where_their_counts_table_hides_the_margin() -> None:
    outcomes, = protect([table("o", [[1, 2], [9, 30], [12, 8]])], k=5, protection=5)
    hidden = {r for r in outcomes.rows if outcomes.cell(r, TOTAL).value is None}
    assert "u0" in hidden
    groups = {r: (outcomes.rows.index(r) + 12, 3.0, 9.0) for r in outcomes.rows}
    out = release_days(Days({**groups, TOTAL: (50, 4.0, 10.0)}), 5, outcomes)
    assert {g for g, d in out.items() if d.n is None} >= hidden
    assert (out[TOTAL].n is None) == (outcomes.cell(TOTAL, TOTAL).value is None)
