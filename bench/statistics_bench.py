"""Benchmark of KOF statistics: a full quarterly release vs the plain SQL of the same counts.

Run from the repository root::

    .venv/bin/python -m bench.statistics_bench

For 10,000, 100,000 and 1,000,000 cases it builds a casework SQLite database (the app's
own migrations and pragmas, a throwaway folder) holding two years of synthetic metadata:
the generator of the demo's history (``scripts.synthetic_cases``: realistic
shares of units, categories, stages, outcomes, late acknowledgements and feedback,
extensions, escalations, referrals, conflicts, identity requests), bulk-inserted with
SQLAlchemy Core executemany in batches. No envelope: statistics never read one.

Then, for the last ended quarter, it times in turn, several runs each, interleaved:

(a) **plain SQL**: the same counts as hand-written SQL, one ``GROUP BY`` per released
    table (:data:`BASELINE`), run through ``sqlite3`` and fetched: the floor any
    implementation pays to read the counts;
(b) **a full quarterly release**: ``casework.statistics.releases.protected_figures``, what
    publishing computes before it stores anything: the quarter's figures, the count
    tables of its year and sibling quarters, disclosure control over that family
    (primary and secondary suppression, the LP attack per suppressed cell) and the
    magnitudes. Split into the quarter's own ``figures()`` (timed apart, just before)
    and the rest ("protect").

It reports the p50 of each, the ratio (b)/(a) at each size (the issue's goal: <= 2x) and
how each grows with ten times the cases. Results are printed and written (overwritten) to
``bench/results/statistics.md``; nothing here asserts a time limit. Progress on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

import crypto
from bench import harness
from bench.casework_bench import uptime
from bench.harness import Run, fmt_ms, md_table, version
from casework import CaseworkConfig, create_app
from casework.accounts import create_user
from casework.models import Case, Role, StageChange
from casework.services import EXTENSION, Casework
from scripts.synthetic_cases import DAYS, People, synthetic_cases
from tests.support.casework import add_default_units

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (300, 1_000)
BATCH = 20_000  # cases per generated batch and per transaction
SEED = 12
GOAL = 2.0  # the issue: a full release within 2x the plain SQL of the same counts

# The plain SQL of the same counts: one GROUP BY per table a quarterly release protects
# (casework/statistics/figures*.py), with the same definitions (which cases each counts),
# written by hand. ``:start``/``:end`` are the quarter's first and first-after days,
# ``:start_at``/``:end_at`` the same as moments (stored as text, so compared as text).
# (S608: the f-strings join this module's own constant fragments; values are bound.)
AGENCY_GROUP = ("CASE coalesce(agency, 'other') WHEN 'kommun' THEN 'municipal' "
                "WHEN 'region' THEN 'regional' WHEN 'other' THEN 'other' "
                "ELSE 'national' END")
ACK_STATUS = ("CASE WHEN acknowledged_on IS NULL THEN 'not-yet' WHEN "
              "julianday(acknowledged_on) - julianday(received_on) <= 7 THEN 'on-time' "
              "ELSE 'late' END")
FEEDBACK_STATUS = (
    "CASE WHEN feedback_on IS NULL THEN 'not-yet' "
    "WHEN julianday(feedback_on) - julianday(received_on) <= 90 THEN 'on-time' "
    "WHEN feedback_extended AND julianday(feedback_on) - julianday(received_on) <= 182 "
    "THEN 'on-time-extended' ELSE 'late' END")
LAST_CONCLUSIONS = ("SELECT case_id, max(at) AS at FROM stage_changes WHERE "
                    "to_stage = 'concluded' AND at >= :start_at AND at < :end_at "
                    "GROUP BY case_id")
RECEIVED = "received_on >= :start AND received_on < :end"
BASELINE: dict[str, str] = {
    "received_by_unit_category":
        f"SELECT unit_id, category, count(*) FROM cases WHERE {RECEIVED} GROUP BY 1, 2",  # noqa: S608
    "received_by_agency_group":
        f"SELECT unit_id, {AGENCY_GROUP}, count(*) FROM cases WHERE {RECEIVED} "  # noqa: S608
        "GROUP BY 1, 2",
    "acknowledgement_by_unit":
        f"SELECT unit_id, {ACK_STATUS}, count(*) FROM cases WHERE {RECEIVED} GROUP BY 1, 2",  # noqa: S608
    "feedback_by_unit":
        f"SELECT unit_id, {FEEDBACK_STATUS}, count(*) FROM cases WHERE {RECEIVED} "  # noqa: S608
        "GROUP BY 1, 2",
    "extensions_by_unit":
        "SELECT c.unit_id, count(*) FROM feedback_extensions e JOIN cases c "
        "ON c.id = e.case_id WHERE e.extended_at >= :start_at AND e.extended_at < :end_at "
        "GROUP BY 1",
    "followup_opened_by_unit":
        "SELECT c.unit_id, count(*) FROM (SELECT case_id FROM stage_changes WHERE "
        "to_stage IN ('assessed', 'investigating') GROUP BY case_id HAVING "
        "min(at) >= :start_at AND min(at) < :end_at) f JOIN cases c ON c.id = f.case_id "
        "GROUP BY 1",
    "outcomes_by_unit":
        f"SELECT c.unit_id, s.outcome, count(*) FROM ({LAST_CONCLUSIONS}) l "  # noqa: S608
        "JOIN stage_changes s ON s.case_id = l.case_id AND s.at = l.at "
        "AND s.to_stage = 'concluded' JOIN cases c ON c.id = l.case_id "
        "WHERE s.outcome IS NOT NULL GROUP BY 1, 2",
    "escalations_by_destination":
        "SELECT destination, count(*) FROM escalations WHERE at >= :start_at "
        "AND at < :end_at GROUP BY 1",
    "recusals_by_unit":
        "SELECT c.unit_id, count(*) FROM conflicts x JOIN cases c ON c.id = x.case_id "
        "WHERE x.declared_at >= :start_at AND x.declared_at < :end_at GROUP BY 1",
    "identity_requests":
        "SELECT status, count(*) FROM identity_requests WHERE requested_at >= :start_at "
        "AND requested_at < :end_at GROUP BY 1",
    # The days figures as histograms (unit, days, count): n, median and p90 follow.
    "days_to_acknowledgement":
        "SELECT unit_id, julianday(acknowledged_on) - julianday(received_on), count(*) "
        "FROM cases WHERE acknowledged_on >= :start AND acknowledged_on < :end "
        "GROUP BY 1, 2",
    "days_to_feedback":
        "SELECT unit_id, julianday(feedback_on) - julianday(received_on), count(*) "
        "FROM cases WHERE feedback_on >= :start AND feedback_on < :end GROUP BY 1, 2",
    "days_to_closure":
        f"SELECT c.unit_id, CAST(julianday(substr(l.at, 1, 10)) - julianday(c.received_on) "  # noqa: S608
        f"AS INTEGER), count(*) FROM ({LAST_CONCLUSIONS}) l JOIN cases c "
        "ON c.id = l.case_id GROUP BY 1, 2",
    "open_by_age":
        "SELECT c.unit_id, CASE WHEN julianday(:last) - julianday(c.received_on) < 91 "
        "THEN '0-3-months' WHEN julianday(:last) - julianday(c.received_on) < 182 "
        "THEN '3-6-months' WHEN julianday(:last) - julianday(c.received_on) < 365 "
        "THEN '6-12-months' ELSE 'over-12-months' END, count(*) FROM cases c "
        "WHERE c.received_on < :end AND NOT EXISTS (SELECT 1 FROM stage_changes s "
        "WHERE s.case_id = c.id AND s.at < :end_at AND s.to_stage = 'concluded' "
        "AND s.at = (SELECT max(t.at) FROM stage_changes t WHERE t.case_id = c.id "
        "AND t.at < :end_at)) GROUP BY 1, 2",
}


@dataclass
class Site:
    """One size's database and what it took to build."""

    n: int
    app: Any
    db_path: Path
    build_s: float
    rows: dict[str, int]
    db_mib: float = 0.0
    baseline: list[float] = field(default_factory=list)
    release: list[float] = field(default_factory=list)
    figures: list[float] = field(default_factory=list)
    protect: list[float] = field(default_factory=list)
    tables: int = 0
    suppressed: int = 0
    cells: int = 0
    agree: list[str] = field(default_factory=list)
    disagree: list[str] = field(default_factory=list)


def services(app: Any) -> Casework:
    found: Casework = app.extensions[EXTENSION]
    return found


def build(n: int, root: Path, today: dt.date) -> Site:
    """A casework database with ``n`` synthetic cases over two years (metadata only)."""
    root.mkdir(parents=True, exist_ok=True)
    db_path = root / "casework.sqlite"
    app = create_app(CaseworkConfig(
        instance_path=root, database_url=f"sqlite:///{db_path}", secret_key=b"s" * 32,
        signing_key_path=root / "casework-signing.seed", argon2=crypto.INSECURE_FAST))
    add_default_units(app)
    cw = services(app)
    ids: dict[str, str] = {}
    with cw.db.session() as db:
        for username, unit, role in (("hedda", "etik", Role.REVIEWER),
                                     ("hugo", "akt", Role.REVIEWER),
                                     ("erik", "etik", Role.REVIEWER),
                                     ("anna", "akt", Role.REVIEWER),
                                     ("cecilia", "kof", Role.CUSTODIAN)):
            user, _ = create_user(db, cw.config, username=username, display_name=username,
                                  unit_id=unit, role=role)
            db.flush()
            ids[username] = user.id
    people = People(readers={"etik": ids["hedda"], "akt": ids["hugo"]},
                    declarers={"etik": ids["erik"], "akt": ids["anna"]},
                    custodian=ids["cecilia"])
    authorities = [a.code for a in cw.config.referral_authorities]
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    start = time.perf_counter()
    for at in range(0, n, BATCH):
        rows = synthetic_cases(rng, at, min(BATCH, n - at), today, people, authorities)
        with cw.db.engine.begin() as conn:
            for table, batch in rows.tables():
                if batch:
                    conn.execute(insert(table), batch)
                counts[table.name] = counts.get(table.name, 0) + len(batch)
    took = time.perf_counter() - start
    with cw.db.engine.begin() as conn:
        # Planner statistics, as a database in service gathers them (PRAGMA optimize):
        # without them SQLite may drive (a)'s hand-written correlated lookups through the
        # index by stage (migration 0012) instead of the case's own, and (a) is then no
        # floor. The figures' own plans do not depend on them
        # (tests/casework/test_statistics_plans.py runs without).
        conn.exec_driver_sql("ANALYZE")
    with cw.db.session() as db:
        if db.scalar(select(func.count()).select_from(Case)) != n:
            raise RuntimeError("the database does not hold the cases generated")
        counts["stage_changes"] = db.scalar(select(func.count()).select_from(StageChange)) or 0
    site = Site(n, app, db_path, took, counts)
    site.db_mib = sum(p.stat().st_size for p in root.glob("casework.sqlite*")) / harness.MIB
    return site


def _params(period: Any) -> dict[str, str]:
    def moment(day: dt.date) -> str:
        return f"{day.isoformat()} 00:00:00.000000"

    return {"start": period.start.isoformat(), "end": period.end.isoformat(),
            "start_at": moment(period.start), "end_at": moment(period.end),
            "last": (period.end - dt.timedelta(days=1)).isoformat()}


def run_baseline(db_path: Path, period: Any) -> tuple[float, dict[str, int]]:
    """Seconds for every BASELINE statement, executed and fetched; each one's total."""
    params = _params(period)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        start = time.perf_counter()
        fetched = {table: conn.execute(sql, params).fetchall()
                   for table, sql in BASELINE.items()}
        took = time.perf_counter() - start
    finally:
        conn.close()
    return took, {table: sum(row[-1] for row in rows) for table, rows in fetched.items()}


def totals(tables: list[Any]) -> dict[str, int]:
    """Each count table's total over its inner cells (a one-column table: its rows)."""
    from casework.statistics.tables import TOTAL

    return {t.id: sum(v for (row, column), v in t.cells.items() if row != TOTAL
                      and (column != TOTAL or tuple(t.columns) == (TOTAL,)))
            for t in tables}


def run_release(app: Any, period: Any) -> tuple[float, float, list[Any], list[Any]]:
    """Seconds to count the family (the year and its quarters, one pass), seconds for
    the whole release (``protected_figures``, which counts the family itself: the first
    time is a separate run of that part, not a part of the second); the released tables
    and the quarter's count tables they were released from (for the agreement check,
    not timed)."""
    from casework.statistics.counts import family_counts
    from casework.statistics.figures import figures, tables_of
    from casework.statistics.periods import Period
    from casework.statistics.releases import protected_figures

    cw = services(app)
    with app.app_context(), cw.db.session() as session:
        start = time.perf_counter()
        family_counts(session, Period.of_year(period.year))
        middle = time.perf_counter()
        _, released, _ = protected_figures(session, cw.config, period)
        end = time.perf_counter()
        counted = tables_of(figures(session, period,
                                    authorities=cw.config.referral_authorities))
    return middle - start, end - middle, released, counted


def measure(sites: list[Site], period: Any, runs: Callable[[int], int],
            run: Run) -> None:
    """Warm each size up once, then alternate (a) and (b) ``runs(n)`` times per size."""
    for site in sites:
        _, baseline = run_baseline(site.db_path, period)
        _, _, released, counted = run_release(site.app, period)
        # (a) and (b) must count the same cases: every table's total, compared.
        found = totals(counted)
        site.agree = [t for t in found if t in baseline and found[t] == baseline[t]]
        site.disagree = [t for t in found if t in baseline and found[t] != baseline[t]]
        site.tables = len(released)
        site.cells = sum(len(t.cells) for t in released)
        site.suppressed = sum(1 for t in released for c in t.cells.values()
                              if c.suppressed is not None)
    for site in sites:
        run.progress(f"   timing {site.n:,} cases ({runs(site.n)} runs)")
        for _ in range(runs(site.n)):
            site.baseline.append(run_baseline(site.db_path, period)[0])
            counting_s, release_s, _, _ = run_release(site.app, period)
            site.figures.append(counting_s)
            site.protect.append(release_s - counting_s)
            site.release.append(release_s)


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def result_lines(sites: list[Site], period: Any) -> list[str]:
    rows = []
    previous: Site | None = None
    for site in sites:
        a, b = p50(site.baseline), p50(site.release)
        growth = "-" if previous is None else (
            f"(a) x{a / p50(previous.baseline):.1f}, (b) x{b / p50(previous.release):.1f} "
            f"for x{site.n / previous.n:.0f} cases")
        rows.append([f"{site.n:,}", f"{site.rows.get('stage_changes', 0):,}",
                     f"{site.build_s:.1f} s", f"{site.db_mib:.0f} MiB", str(len(site.release)),
                     fmt_ms(a), fmt_ms(b), fmt_ms(p50(site.figures)), fmt_ms(p50(site.protect)),
                     f"**{b / a:.2f}x**", growth,
                     f"{site.suppressed} of {site.cells} in {site.tables} tables"])
        previous = site
    return [
        "## 1. A quarterly release vs the plain SQL of the same counts", "",
        f"Quarter {period.label}; every size holds two years ({DAYS} days) of cases. "
        f"(a): {len(BASELINE)} hand-written GROUP BY statements through `sqlite3`, fetched. "
        "(b): `protected_figures()` (the count tables of the quarter, its year and sibling "
        "quarters in one pass over the year, the quarter's durations, disclosure control "
        "over that family, the magnitudes), split into counting the family "
        "(`counts.family_counts`, timed apart in the same run) and the rest. p50 of the "
        "runs; "
        f"goal (b)/(a) <= {GOAL:.0f}x.", "",
        *md_table(["cases", "stage changes", "build", "database", "runs", "(a) plain SQL p50",
                   "(b) release p50", "of which counting p50", "the rest p50", "(b)/(a)",
                   "growth", "cells suppressed"], rows), ""]


def notes(sites: list[Site]) -> list[str]:
    over = [s for s in sites if s.baseline and p50(s.release) / p50(s.baseline) > GOAL]
    verdict = ("Every size meets the goal." if not over else
               "Over the goal at " + ", ".join(f"{s.n:,}" for s in over) + " cases.")
    agreement = "; ".join(
        f"{s.n:,}: {len(s.agree)} tables agree"
        + (f", **{len(s.disagree)} differ ({', '.join(s.disagree)})**" if s.disagree else "")
        for s in sites)
    return [
        "### Notes", "",
        f"- Same counts: each count table's total from (b), before suppression, against "
        f"the rows of its statement in (a). {agreement}.",
        f"- {verdict} The ratio is measured in one run, (a) and (b) alternating run by run, so "
        "the load of the machine weighs on (a) and (b) alike; absolute times are not "
        "comparable between machines.",
        "- Both sides read the same rows with the same definitions (the received cases, "
        "the first moves to assessed or investigating, the last conclusion in the quarter "
        "from the stage changes, the open cases at the quarter's end). (a) returns rows "
        "only; (b) also counts the quarter's year and three other quarters (the family "
        "protected with it; one pass over the year: counting p50), builds the labelled "
        "tables and runs disclosure control over all five, whose LP cost does not grow "
        "with the cases (the tables have the same shape at every size): in the rest.",
        "- The build (generation in Python and Core executemany in batches of "
        f"{BATCH:,} cases, all tables) is not part of either time.", ""]


def statistics_machine() -> list[str]:
    return harness.machine_lines([
        ["SQLAlchemy", version("sqlalchemy")],
        ["SQLite library", sqlite3.sqlite_version],
        ["SciPy (HiGHS)", version("scipy")],
    ], harness.code_fingerprint(["casework/statistics/*.py", "casework/models/*.py",
                                 "scripts/synthetic_cases.py"],
                                "casework/statistics/, casework/models/, the generator"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, f"{QUICK_SIZES[0]} and {QUICK_SIZES[1]} cases, two runs")
    parser.add_argument("--sizes", help="comma-separated case counts (default "
                        + ",".join(str(s) for s in SIZES) + ")")
    args = parser.parse_args(argv)
    run = Run("statistics", args)
    sizes = (tuple(int(s) for s in args.sizes.split(",")) if args.sizes
             else QUICK_SIZES if run.quick else SIZES)

    def runs(n: int) -> int:
        return 2 if run.quick else 3 if n >= 1_000_000 else 7

    from casework.statistics.periods import Period

    today = dt.datetime.now(dt.UTC).date()
    period = Period.previous_quarter(today)
    out = [*run.heading("Lykta statistics benchmark"), *statistics_machine(), ""]
    sites: list[Site] = []

    def build_site(n: int, folder: Path) -> list[str]:
        sites.append(build(n, folder, today))
        run.progress(f"   built in {sites[-1].build_s:.1f} s")
        return []

    def timing() -> list[str]:
        measure(sites, period, runs, run)
        return []

    with run.workdir() as work:
        before = uptime()
        with harness.LoadMeter() as load:
            for n in sizes:
                run.progress(f"building {n:,} cases")
                out += run.attempt(f"Building {n:,} cases",
                                   functools.partial(build_site, n, work / str(n)))
            run.progress("timing (a) and (b)")
            out += run.attempt("Timing", timing,
                               heading="## 1. A quarterly release vs the plain SQL of the "
                                       "same counts")
        after = uptime()
        if sites and all(s.release for s in sites):
            out += [*result_lines(sites, period), *notes(sites)]
        for site in sites:
            services(site.app).db.engine.dispose()
    out += [load.line(), "", f"_`uptime` before: `{before}`; after: `{after}`._", ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
