"""Disclosure control across periods: a year and its four quarters.

1. **The declarations hold.** For random case populations (direct rows in a migrated
   database), the figures of a year and of each of its quarters, computed at the same
   moment, relate as ``casework.statistics.figures.OVER_TIME`` says: ADDITIVE tables
   sum, AT_MOST_SUM ones are bounded by the sum, the STOCK_AT_END one equals the fourth
   quarter's; every table is declared. And the one pass over a year that a release
   counts its family with (``counts.family_counts``) gives each period's tables exactly
   as counting that period alone does.
2. **Publishing the five in any order reveals nothing.** For random populations of
   tables, the quarters and the year are published one by one in a random order, each
   with ``protect_in_family`` given what is already published. The attacker, written
   here apart from the code, then holds all five releases as one linear program: every
   table's equations, linked margins equal, year = the quarters' sum (or <= it, or =
   Q4), counts >= 0; HiGHS gives each hidden cell's least and greatest value, and the
   interval must be at least the protection level wide. No published cell is under k.
3. **Through publishing.** Four quarters then the year, with ``releases.publish`` on a
   database: the quarter with a small cell cannot be had by subtraction. And the
   protector's way out for a cell pinned near a bound (``disclosure_lp.straddle``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from casework.cli import DEFAULT_UNITS
from casework.models import (
    Case,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    ReleaseKind,
    Role,
    StageChange,
    Unit,
    User,
)
from casework.statistics import export, releases
from casework.statistics.counts import family_counts
from casework.statistics.disclosure_lp import Model, deviation, interval, straddle
from casework.statistics.disclosure_periods import (
    Member,
    OverTime,
    family,
    protect_in_family,
)
from casework.statistics.figures import OVER_TIME, figures, tables_of
from casework.statistics.periods import Period, Span
from casework.statistics.tables import TOTAL, CountTable, ReleasedTable
from tests.support.databases import app_database

from .conftest import Staff, services

SETTINGS = settings(max_examples=12, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
YEAR = Period.parse("2025")
QUARTERS = YEAR.quarters()
Key = tuple[str, str]


def every_key(table: CountTable) -> dict[Key, int]:
    """Cells and margins, as published."""
    out = {(r, c): table.count(r, c) for r in table.rows for c in table.columns}
    if table.columns != (TOTAL,):
        out.update({(r, TOTAL): table.row_total(r) for r in table.rows})
        out.update({(TOTAL, c): table.column_total(c) for c in table.columns})
    out[(TOTAL, TOTAL)] = table.total
    return out


# --- 1. the declarations, on random case populations -----------------------------------

@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_engine(app_database("casework", tmp_path_factory.mktemp("periods")))
    with Session(engine) as session, session.begin():
        for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
            session.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                             alternate_unit_id=alternate, receives_reports=receives))
    yield engine
    engine.dispose()


PATHS = (("acknowledged", "assessed", "investigating", "concluded"),
         ("assessed", "concluded", "investigating", "concluded"),
         ("concluded", "assessed", "concluded"), ("acknowledged", "concluded", "assessed"),
         ("acknowledged",), ())


def populate(session: Session, seed: int, count: int) -> None:
    """``count`` cases around the year (some before it, some after), each with a random
    history of stage changes, deadlines, escalations, conflicts, extensions and identity
    requests; a few merged into another."""
    rng = random.Random(seed)
    user = User(username=f"reader{seed}", display_name="Reader", password_hash="x")
    session.add(user)
    session.flush()
    units = [u[0] for u in DEFAULT_UNITS if u[4]] + ["kof"]
    first = YEAR.start - dt.timedelta(days=400)
    ids: list[str] = []
    for n in range(count):
        received = first + dt.timedelta(days=rng.randrange(800))

        def later(days: int, received: dt.date = received) -> dt.date:
            return received + dt.timedelta(days=rng.randrange(days))

        case = Case(reference=f"P-{seed}-{n}", unit_id=rng.choice(units),
                    category=rng.choice(["corruption", "ethics", "funds", "retaliation",
                                         "no-such-code"]),
                    agency=rng.choice([None, "kommun", "skatteverket", "region", "other"]),
                    received_on=received,
                    acknowledged_on=rng.choice([None, later(15)]),
                    feedback_on=rng.choice([None, later(250)]),
                    feedback_extended=rng.random() < 0.3,
                    tipster_public_key=bytes([n % 256]) * 32,
                    intake_receipt_id=f"receipt-{seed}-{n}",
                    merged_into_id=ids[-1] if ids and rng.random() < 0.05 else None)
        session.add(case)
        session.flush()
        ids.append(case.id)
        stage = "received"
        at = dt.datetime.combine(received, dt.time(rng.randrange(24)))
        for to_stage in rng.choice(PATHS):
            at += dt.timedelta(days=rng.randrange(1, 120), hours=rng.randrange(24))
            outcome = (rng.choice(["substantiated", "dismissed", "referred"])
                       if to_stage == "concluded" else None)
            session.add(StageChange(
                case_id=case.id, from_stage=stage, to_stage=to_stage, reason_code="other",
                outcome=outcome, reopened=stage == "concluded", at=at))
            stage = to_stage
        # As casework.workflow writes the row (a few without the day: read from history).
        case.stage = stage
        if stage == "concluded" and rng.random() < 0.9:
            case.outcome, case.concluded_on = outcome, at.date()
        moment = dt.datetime.combine(received, dt.time())

        def when(moment: dt.datetime = moment) -> dt.datetime:
            return moment + dt.timedelta(days=rng.randrange(300), hours=rng.randrange(24))
        if rng.random() < 0.3:  # at most one extension per case
            session.add(FeedbackExtension(case_id=case.id, reason_code="other",
                                          extended_by=user.id, extended_at=when()))
        for _ in range(rng.randrange(3)):
            session.add(rng.choice([
                Escalation(case_id=case.id, kind="unit", reason_code="other", at=when(),
                           destination=rng.choice(["akt", "kof", "jo"])),
                Conflict(case_id=case.id, user_id=user.id, declared_at=when()),
                IdentityRequest(case_id=case.id, requester_id=user.id, reason_code="other",
                                status=rng.choice(["approved", "pending", "refused"]),
                                requested_at=when())]))
    session.flush()


@SETTINGS
@given(st.integers(0, 10**6), st.integers(0, 40))
def test_a_years_tables_relate_to_its_quarters_as_declared(engine: Engine, seed: int,
                                                          count: int) -> None:
    with Session(engine) as session:
        populate(session, seed, count)
        year = {t.id: t for t in tables_of(figures(session, YEAR))}
        quarters = [{t.id: t for t in tables_of(figures(session, q))} for q in QUARTERS]
        session.rollback()
    for q in quarters:  # every table is declared, and a quarter has no table of its own
        assert set(q) <= set(year)
    assert set(year) == set(OVER_TIME)
    for table_id, kind in OVER_TIME.items():
        whole = every_key(year[table_id])
        parts = [every_key(q[table_id]) for q in quarters if table_id in q]
        if kind is OverTime.NEITHER:
            assert not parts
            continue
        assert len(parts) == 4
        for part in parts:  # a key only a quarter has counts 0 there
            assert all(v == 0 for key, v in part.items() if key not in whole), table_id
        for key, value in whole.items():
            summed = sum(part.get(key, 0) for part in parts)
            if kind is OverTime.ADDITIVE:
                assert value == summed, (table_id, key)
            elif kind is OverTime.AT_MOST_SUM:
                assert value <= summed, (table_id, key)
            else:
                assert value == parts[3].get(key, 0), (table_id, key)


@SETTINGS
@given(st.integers(0, 10**6), st.integers(0, 40))
def test_one_pass_over_the_year_counts_what_each_period_counts_alone(
        engine: Engine, seed: int, count: int) -> None:
    """``family_counts`` reads the year once, splits it by quarter and derives the
    year's tables (what a release protects with): every table of the five periods must
    be the one counted for that period on its own."""
    with Session(engine) as session:
        populate(session, seed, count)
        together = family_counts(session, YEAR)
        for period in family(QUARTERS[2]):
            alone = tables_of(figures(session, period, counts_only=True))
            passed = tables_of(figures(session, period, counts_only=True,
                                       counts=together[period]))
            assert passed == alone, period
        session.rollback()


def test_a_span_is_consecutive_periods() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        Span((QUARTERS[0], QUARTERS[2]))
    with pytest.raises(ValueError, match="consecutive"):
        Span(())


def test_outcomes_are_not_additive_when_a_case_is_concluded_twice(engine: Engine) -> None:
    """Why outcomes are AT_MOST_SUM: concluded in Q1, reopened, concluded in Q3."""
    with Session(engine) as session:
        session.add(Case(reference="TWICE", unit_id="etik", category="ethics",
                         received_on=dt.date(2025, 1, 2), stage="concluded",
                         tipster_public_key=bytes(32), intake_receipt_id="twice"))
        session.flush()
        case_id = session.query(Case.id).filter_by(reference="TWICE").scalar()
        for from_stage, to_stage, at in (
                ("received", "concluded", dt.datetime(2025, 2, 1)),
                ("concluded", "investigating", dt.datetime(2025, 3, 1)),  # reopened
                ("investigating", "concluded", dt.datetime(2025, 8, 1))):
            session.add(StageChange(case_id=case_id, from_stage=from_stage,
                                    to_stage=to_stage, reason_code="other",
                                    reopened=from_stage == "concluded", at=at,
                                    outcome="dismissed" if to_stage == "concluded" else None))
        session.flush()
        year = tables_of(figures(session, YEAR))
        q1, q3 = (tables_of(figures(session, q)) for q in (QUARTERS[0], QUARTERS[2]))
        session.rollback()

    def outcomes(tables: list[CountTable]) -> int:
        return next(t for t in tables if t.id == "outcomes_by_unit").total
    assert (outcomes(year), outcomes(q1), outcomes(q3)) == (1, 1, 1)


# --- 2. publishing the five in random orders ---------------------------------------------

LINKED = ("a", "b")  # a: unit x column, b: its row margins (the same cases)
DECLARED = {"a": OverTime.ADDITIVE, "b": OverTime.ADDITIVE,
            "s": OverTime.STOCK_AT_END, "o": OverTime.AT_MOST_SUM}


def tables_for(cells: dict[str, list[list[int]]]) -> list[CountTable]:
    a, s, o = cells["a"], cells["s"], cells["o"]
    rows = tuple(f"u{i}" for i in range(len(a)))

    def two_d(tid: str, m: list[list[int]], linked: tuple[str, ...] = ()) -> CountTable:
        cols = tuple(f"{tid}{j}" for j in range(len(m[0])))
        return CountTable(tid, rows, cols, {(r, c): m[i][j] for i, r in enumerate(rows)
                                            for j, c in enumerate(cols)}, linked)
    return [two_d("a", a, ("b",)),
            CountTable("b", rows, (TOTAL,), {(r, TOTAL): sum(a[i])
                                             for i, r in enumerate(rows)}, ("a",)),
            two_d("s", s), two_d("o", o)]


@st.composite
def families(draw: st.DrawFn) -> dict[Period, list[CountTable]]:
    rows = draw(st.integers(2, 3))
    cols = draw(st.integers(2, 3))
    small = st.one_of(st.integers(0, 3), st.integers(0, 12))  # plenty of small cells

    def matrix() -> list[list[int]]:
        return [[draw(small) for _ in range(cols)] for _ in range(rows)]
    quarters = [{"a": matrix(), "s": matrix(), "o": matrix()} for _ in QUARTERS]
    overlap = matrix()  # cases concluded in two quarters: counted once in the year
    year = {"a": [[sum(q["a"][i][j] for q in quarters) for j in range(cols)]
                  for i in range(rows)],
            "s": quarters[3]["s"],
            "o": [[max(0, sum(q["o"][i][j] for q in quarters) - overlap[i][j])
                   for j in range(cols)] for i in range(rows)]}
    out = {q: tables_for(cells) for q, cells in zip(QUARTERS, quarters, strict=True)}
    out[YEAR] = tables_for(year)
    return out


class Attacker:
    """All five releases in one linear program (independent of disclosure_lp)."""

    def __init__(self) -> None:
        self.index: dict[tuple[Period, str, Key], int] = {}
        self.bounds: list[tuple[float, float | None]] = []
        self.eq: list[dict[int, float]] = []

    def var(self, bound: tuple[float, float | None] = (0.0, None)) -> int:
        self.bounds.append(bound)
        return len(self.bounds) - 1

    def hold(self, period: Period, table: ReleasedTable) -> None:
        for key, cell in table.cells.items():
            v = cell.value
            self.index[(period, table.id, key)] = self.var(
                (0.0, None) if v is None else (float(v), float(v)))

        def x(r: str, c: str) -> int:
            return self.index[(period, table.id, (r, c))]
        if table.columns == (TOTAL,):
            self.eq.append({**{x(r, TOTAL): 1.0 for r in table.rows}, x(TOTAL, TOTAL): -1.0})
            return
        for r in table.rows:
            self.eq.append({**{x(r, c): 1.0 for c in table.columns}, x(r, TOTAL): -1.0})
        for c in table.columns:
            self.eq.append({**{x(r, c): 1.0 for r in table.rows}, x(TOTAL, c): -1.0})
        self.eq.append({**{x(r, TOTAL): 1.0 for r in table.rows}, x(TOTAL, TOTAL): -1.0})

    def link(self, period: Period, a: ReleasedTable, b: ReleasedTable) -> None:
        for key in b.cells:  # b's rows and total are a's row margins and total
            self.eq.append({self.index[(period, a.id, key)]: 1.0,
                            self.index[(period, b.id, key)]: -1.0})

    def across(self, table_id: str, kind: OverTime, keys: Sequence[Key]) -> None:
        for key in keys:
            row = {self.index[(YEAR, table_id, key)]: 1.0}
            parts = QUARTERS[-1:] if kind is OverTime.STOCK_AT_END else QUARTERS
            for q in parts:
                row[self.index[(q, table_id, key)]] = -1.0
            if kind is OverTime.AT_MOST_SUM:
                row[self.var()] = 1.0
            self.eq.append(row)

    def width(self, node: tuple[Period, str, Key]) -> float:
        a_eq = np.zeros((len(self.eq), len(self.bounds)))
        for i, row in enumerate(self.eq):
            for j, coef in row.items():
                a_eq[i, j] += coef
        c = np.zeros(len(self.bounds))
        c[self.index[node]] = 1.0
        low = linprog(c, A_eq=a_eq, b_eq=np.zeros(len(self.eq)), bounds=self.bounds,
                      method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=np.zeros(len(self.eq)), bounds=self.bounds,
                       method="highs")
        assert low.status == 0, low.message
        assert high.status in (0, 3), high.message
        return math.inf if high.status == 3 else -high.fun - low.fun


def attack(published: dict[Period, list[ReleasedTable]]) -> Attacker:
    """An attacker holding every release of the family, with every relation."""
    attacker = Attacker()
    for period, released in published.items():
        for t in released:
            attacker.hold(period, t)
        by_id = {t.id: t for t in released}
        attacker.link(period, by_id["a"], by_id["b"])
    for t in published[YEAR]:
        attacker.across(t.id, DECLARED[t.id], list(t.cells))
    return attacker


@settings(SETTINGS, max_examples=4)  # five protections and ~100 attacks per example
@given(families(), st.permutations([YEAR, *QUARTERS]), st.sampled_from([(3, 3), (5, 5)]))
def test_the_year_and_its_quarters_in_any_order_reveal_nothing(
        tables: dict[Period, list[CountTable]], order: list[Period],
        kp: tuple[int, int]) -> None:
    k, p = kp
    published: dict[Period, list[ReleasedTable]] = {}
    for period in order:
        members = [Member(other, tables[other], published.get(other, []))
                   for other in family(period) if other != period]
        published[period] = protect_in_family(period, tables[period], members, DECLARED,
                                              k=k, protection=p)
    attacker = attack(published)
    for period, released in published.items():
        for t in released:
            for key, cell in t.cells.items():
                assert cell.value is None or not 0 < cell.value < k, (period, t.id, key)
    for period, released in published.items():
        for t in released:
            for key in t.suppressed:
                assert attacker.width((period, t.id, key)) >= p - 1e-6, (period, t.id, key)


def test_a_quarter_cannot_be_recovered_from_the_year_and_the_other_three() -> None:
    """The example of the issue: one small cell in Q2; the year published last."""
    quarters = [{"a": [[20, 30], [15, 12]], "s": [[9, 9], [9, 9]], "o": [[9, 9], [9, 9]]}
                for _ in QUARTERS]
    quarters[1]["a"] = [[2, 30], [15, 12]]
    tables = {q: tables_for(c) for q, c in zip(QUARTERS, quarters, strict=True)}
    tables[YEAR] = tables_for({"a": [[62, 120], [60, 48]], "s": [[9, 9], [9, 9]],
                               "o": [[30, 30], [30, 30]]})
    published: dict[Period, list[ReleasedTable]] = {}
    for period in (*QUARTERS, YEAR):
        members = [Member(other, tables[other], published.get(other, []))
                   for other in family(period) if other != period]
        published[period] = protect_in_family(period, tables[period], members, DECLARED,
                                              k=5, protection=5)
    assert ("u0", "a0") in published[QUARTERS[1]][0].suppressed
    # The year's cell and the other quarters' would give Q2's away (62 - 20 - 20 - 20):
    # one of them at least is hidden, and Q2's keeps its interval against all five.
    assert any(("u0", "a0") in published[p][0].suppressed
               for p in (YEAR, QUARTERS[0], QUARTERS[2], QUARTERS[3]))
    attacker = attack(published)
    assert attacker.width((QUARTERS[1], "a", ("u0", "a0"))) >= 5 - 1e-6


# --- 3. through publishing ---------------------------------------------------------------

def test_publishing_a_year_after_its_quarters_protects_the_small_quarter(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    """Two reports of funds to etik in Q2, six in each other quarter: published one by
    one, then the year (20), Q2's two are not the year minus the other three."""
    with services(casework).db.session() as db:
        for q, quarter in enumerate(QUARTERS):
            for category, unit, count in (("ethics", "etik", 9), ("corruption", "akt", 8),
                                          ("funds", "etik", 2 if q == 1 else 6)):
                for n in range(count):
                    db.add(Case(reference=f"LY-{q}-{category[:4]}-{n}", unit_id=unit,
                                category=category, received_on=quarter.start,
                                tipster_public_key=bytes([n + 1]) * 32,
                                intake_receipt_id=f"r-{q}-{category}-{n}"))
    enrol("stina", Role.STATISTICIAN, "kof")
    stored: dict[Period, ReleasedTable] = {}
    for period in (*QUARTERS, YEAR):
        kind = ReleaseKind.ANNUAL if period == YEAR else ReleaseKind.QUARTERLY
        with casework.test_request_context(), services(casework).unit() as work:
            user = work.session.scalars(select(User).where(User.username == "stina")).one()
            release = releases.publish(services(casework), work.session, user, kind, period)
            stored[period] = next(t for t in export.from_json(release.tables).tables
                                  if t.id == "received_by_unit_category")
    key = ("etik", "funds")
    assert stored[QUARTERS[1]].cell(*key).value is None
    assert any(stored[p].cell(*key).value is None
               for p in (YEAR, QUARTERS[0], QUARTERS[2], QUARTERS[3]))


def test_a_small_quarters_days_are_not_the_year_minus_the_other_quarters(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    """The n of a durations figure are counts too: two reports acknowledged by akt in
    Q3, six in each other quarter (etik: nine a quarter). Published one by one, then the
    year: Q3's n for akt (hidden, under k) is not the year's minus the other three's."""
    with services(casework).db.session() as db:
        for q, quarter in enumerate(QUARTERS):
            for unit, count in (("etik", 9), ("akt", 2 if q == 2 else 6)):
                for n in range(count):
                    db.add(Case(reference=f"LY-{q}-{unit}-{n}", unit_id=unit,
                                category="ethics", received_on=quarter.start,
                                acknowledged_on=quarter.start + dt.timedelta(days=n % 5),
                                tipster_public_key=bytes([n + 1]) * 32,
                                intake_receipt_id=f"r-{q}-{unit}-{n}"))
    enrol("stina", Role.STATISTICIAN, "kof")
    shown: dict[Period, int | None] = {}
    for period in (*QUARTERS, YEAR):
        kind = ReleaseKind.ANNUAL if period == YEAR else ReleaseKind.QUARTERLY
        with casework.test_request_context(), services(casework).unit() as work:
            user = work.session.scalars(select(User).where(User.username == "stina")).one()
            release = releases.publish(services(casework), work.session, user, kind, period)
            document = export.from_json(release.tables)
            shown[period] = document.durations["days_to_acknowledgement"]["akt"].n
            table = next(t for t in document.tables if t.id == "acknowledged_by_unit")
            assert table.cell("akt", TOTAL).value == shown[period]  # the same count
    assert shown[QUARTERS[2]] is None
    assert any(shown[p] is None for p in (YEAR, QUARTERS[0], QUARTERS[1], QUARTERS[3]))


def test_a_cell_pinned_near_a_bound_is_protected_by_moving_both_ways() -> None:
    """x + z = 3 where 3 was published by another period: x (1, hidden) can rise by 2
    at most and fall by 1, never by the protection level 3 in one direction; hiding z
    leaves x anywhere in [0, 3]."""
    model = Model()
    x = model.add("x", 1.0, known=False, current=True, inner=True)
    z = model.add("z", 2.0, known=True, current=True, inner=True)
    other = model.add("published elsewhere", 3.0, known=True, current=False, inner=False)
    model.equations.append({x: 1.0, z: 1.0, other: -1.0})
    weight = [1.0, 3.0, 4.0]
    assert deviation(model, x, 3.0, weight) is None
    assert deviation(model, x, -3.0, weight) is None
    moved = straddle(model, x, 3.0, weight)
    assert moved is not None and z in moved
    model.known[z] = False
    lo, hi = interval(model, x)
    assert (lo, hi) == (0.0, 3.0)
    model.known[z] = True
    assert straddle(model, x, 4.0, weight) is None  # [0, 3] is all there is
