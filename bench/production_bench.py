"""Production benchmark: intake under gunicorn on SQLite vs PostgreSQL, casework's inbox at 100k.

Run from the repository root::

    .venv/bin/python -m bench.production_bench [--requests 400] [--workers 1,2,4]

1. Submissions: for each database {SQLite (the default: a file in the instance folder),
   PostgreSQL} and each number of gunicorn workers (1, 2, 4), a fresh instance is served
   by ``gunicorn -c ops/gunicorn/intake.conf.py`` - the production config file itself,
   given ``LYKTA_GUNICORN_BIND``, ``LYKTA_GUNICORN_WORKERS``, ``LYKTA_INSTANCE`` and, for
   PostgreSQL, ``LYKTA_INTAKE_DATABASE_URL`` - and a load generator in a separate process
   (threads over ``http.client``, one browser each) submits a fixed number of real
   multipart reports (GET the form for its CSRF token and session cookie, POST it, read the
   receipt). Every configuration is measured in each of two rounds, the second in reverse
   order, so that a drift in a shared machine's load hits all of them alike. Ratios are
   against SQLite with 1 worker from the same run.
2. The casework inbox at 100,000 cases on PostgreSQL next to SQLite: bench.casework_bench's
   seeding and requests (Flask test client, whole view stack), both databases built first
   and their requests interleaved.
3. Submissions at production Argon2 cost (2 workers, both databases): section 1 measures
   the store path at ``crypto.INSECURE_FAST``, because at ``crypto.PRODUCTION`` each
   receipt costs hundreds of milliseconds of CPU and hides the database; this section
   shows how much.

PostgreSQL is a private cluster in a temporary folder (bench.postgres), durability on.
Results go to ``bench/results/production.md``; nothing asserts a time limit.

``--compare LABEL=TREE`` (given twice or more) measures only section 1 on SQLite, once
for each source tree (another checkout, say one before a change), its configurations
interleaved in the same rounds so that the machine's load hits every version alike.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import crypto
from bench import harness
from bench.harness import Run, fmt_ms, md_table, p50_p95, pct
from bench.postgres import Cluster, bin_dir, missing
from bench.production_load import CLIENTS, WARMUP, Intake, Measured, measure
from tests.support.casework import services


def submissions(run: Run, work: Path, pg: Cluster, worker_counts: list[int], requests: int,
                rounds: int, argon2: crypto.Argon2Params, tag: str) -> list[Measured]:
    """Every {SQLite, PostgreSQL} x ``worker_counts``, ``rounds`` rounds (alternating order)."""
    results: dict[tuple[str, int], Measured] = {}
    intakes: dict[str, Intake] = {}
    order = [(db, n) for db in ("SQLite", "PostgreSQL") for n in worker_counts]
    for db, n in order:
        intake = Intake(db, work / f"{tag}-{db}-{n}", pg.new_database() if db == "PostgreSQL"
                        else None, argon2)
        intake.create()
        intakes[f"{db}-{n}"] = intake
        results[(db, n)] = Measured(db, n)
    per_round = max(1, requests // rounds)
    for number in range(rounds):
        for db, n in order if number % 2 == 0 else list(reversed(order)):
            run.progress(f"   round {number + 1}/{rounds}: {db}, {n} worker(s), "
                         f"{per_round} submissions")
            measure(intakes[f"{db}-{n}"], n, per_round, work / f"{tag}-{db}-{n}.log",
                    results[(db, n)], 2 if run.quick else WARMUP)
    return [results[key] for key in order]


def compare(run: Run, work: Path, trees: list[tuple[str, Path]], worker_counts: list[int],
            requests: int, rounds: int, argon2: crypto.Argon2Params) -> list[Measured]:
    """SQLite x ``worker_counts`` x each labelled source tree, ``rounds`` rounds."""
    order = [(label, tree, n) for n in worker_counts for label, tree in trees]
    intakes: dict[tuple[str, int], Intake] = {}
    results: dict[tuple[str, int], Measured] = {}
    for label, tree, n in order:
        intake = Intake("SQLite", work / f"compare-{len(intakes)}", None, argon2, tree)
        intake.create()
        intakes[(label, n)] = intake
        results[(label, n)] = Measured("SQLite", n, label)
    per_round = max(1, requests // rounds)
    for number in range(rounds):
        for label, _tree, n in order if number % 2 == 0 else list(reversed(order)):
            run.progress(f"   round {number + 1}/{rounds}: {label}, {n} worker(s), "
                         f"{per_round} submissions")
            log = work / f"compare-{label.replace(' ', '_')}-{n}.log"
            measure(intakes[(label, n)], n, per_round, log, results[(label, n)],
                    2 if run.quick else WARMUP)
    return [results[(label, n)] for label, _tree, n in order]


def submission_lines(results: list[Measured], requests: int, rounds: int) -> list[str]:
    base = results[0]
    rows = []
    for r in results:
        rows.append([
            r.label, str(r.completed), f"{r.rate:.1f}",
            f"{r.rate / base.rate:.2f}" if base.rate else "-",
            p50_p95(r.post),
            f"{pct(r.post, 95) / pct(base.post, 95):.2f}" if base.post and r.post else "-",
            p50_p95(r.get), fmt_ms(r.server_cpu / max(1, r.completed)),
            f"{r.other_cpu / r.wall:.2f}" if r.wall else "-", f"{r.failures} / {r.busy}"])
    notes = []
    for r in results:
        notes += [f"- {r.label}: {n} x {what}" for what, n in sorted(r.errors.items())]
        notes += [f"- {r.label}, gunicorn's log: {n} x `{line}`"
                  for line, n in r.log_lines.most_common(5)]
    return [*md_table(
        ["Configuration", "Submitted", "Submissions/s", f"Rate / {base.label}",
         "POST /submit p50 / p95", f"p95 / {base.label}", "GET /submit p50 / p95",
         "gunicorn CPU per submission", "Other processes (cores)", "Failed / 503"], rows),
        "", "Failed requests (no retries; the submission is not counted) and what gunicorn "
        "logged:" if notes else "No request failed and gunicorn logged no error.", "",
        *notes]


# --------------------------------------------------------------------------- 2. the inbox


def inbox(run: Run, work: Path, pg: Cluster, cases: int, reps: int, walks: int,
          depth: int) -> list[str]:
    """bench.casework_bench's inbox at ``cases`` cases, SQLite and PostgreSQL side by side."""
    from bench import casework_bench as cb

    run.progress(f"2. inbox: {cases:,} cases on SQLite")
    sites = [cb.build_inbox(cases, work / "inbox-sqlite")]
    run.progress(f"2. inbox: {cases:,} cases on PostgreSQL")
    sites.append(cb.build_inbox(cases, work / "inbox-postgresql", pg.new_database()))
    try:
        run.progress("2. inbox: requests, interleaved")
        cb.sample_inbox(sites, reps)
        lite, post = (cb.finish_inbox(site, walks, depth, sql_detail=False)
                      for site in sites)
    finally:
        for site in sites:
            services(site.app).db.engine.dispose()
    rows = []
    for kind, label in cb.KINDS.items():
        a, b = lite.samples.get(kind, []), post.samples.get(kind, [])
        ratio = f"{pct(b, 50) / pct(a, 50):.2f}" if a and b else "-"
        rows.append([label, p50_p95(a), p50_p95(b), ratio,
                     f"{lite.rows.get(kind, '-')} / {post.rows.get(kind, '-')}"])
    return [
        f"{cases:,} cases seeded by `bench.casework_bench.fill_cases` (its data set: units, "
        "stages, priorities, labels, assignments, readers) into a fresh casework database "
        "on each side, through the app's own migrations; the same readers signed in "
        f"through `/login`. {reps} requests of each kind on each database, interleaved "
        "(every round requests every kind on both), after one warm-up each; deep pages: "
        f"the `Next page` link followed {depth} times, {walks} walk(s). Times are "
        "wall-clock per request through the whole view stack in the Flask test client.",
        "",
        *md_table(["Request", "SQLite p50 / p95", "PostgreSQL p50 / p95",
                   "p50 PostgreSQL / SQLite", "Rows on the page (SQLite / PostgreSQL)"],
                  rows),
        "",
        *md_table(["Database", "Bulk insert", "Size on disk"],
                  [[name, f"{r.fill_s:.1f} s ({r.n / r.fill_s:,.0f} cases/s)",
                    f"{r.db_mib:.1f} MiB"]
                   for name, r in (("SQLite", lite), ("PostgreSQL", post))]),
        "",
    ]


# --------------------------------------------------------------------------- main


def machine(pg: Cluster | None) -> list[str]:
    import sqlite3

    return harness.machine_lines([
        ["gunicorn / Flask / SQLAlchemy", harness.versions("gunicorn", "Flask", "SQLAlchemy")],
        ["SQLite library", sqlite3.sqlite_version],
        ["psycopg", harness.version("psycopg")],
        ["PostgreSQL", pg.description() if pg else "not installed"],
        ["gunicorn config", "`ops/gunicorn/intake.conf.py` (gthread, 4 threads per worker)"],
    ], harness.code_fingerprint(
        ["intake/**/*.py", "casework/**/*.py", "common/*.py", "crypto/*.py",
         "ops/gunicorn/intake.conf.py", "migrations/**/*.py"],
        "intake/, casework/, common/, crypto/, migrations/, ops/gunicorn/intake.conf.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "24 submissions, 1 and 2 workers, one round, 1k cases")
    parser.add_argument("--requests", type=int, default=400,
                        help="timed submissions per configuration, all rounds (400)")
    parser.add_argument("--workers", default="1,2,4", help="gunicorn workers (1,2,4)")
    parser.add_argument("--cases", type=int, default=100_000, help="inbox cases (100000)")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=TREE",
                        help="section 1 on SQLite only, served from each source tree")
    args = parser.parse_args(argv)
    from bench.casework_bench import uptime

    run = Run("production", args)
    # A SIGTERM (bench.quick's timeout, a Ctrl-C'd make) unwinds like an error, so the
    # finally blocks stop PostgreSQL, gunicorn and the load generator, and delete them.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    # The quick run (make test's slice) checks that every section still runs, on both
    # databases and with more than one worker, at the least cost: one gunicorn per side.
    workers = [2] if run.quick else [int(n) for n in args.workers.split(",")]
    requests, rounds = (12, 1) if run.quick else (args.requests, 2)
    cases = 300 if run.quick else args.cases
    reps, walks, depth = (1, 1, 2) if run.quick else (30, 3, 20)
    fast = crypto.INSECURE_FAST
    out = run.heading("Lykta in production: SQLite vs PostgreSQL under gunicorn")
    before = uptime()
    if args.compare:
        trees = [(label, Path(tree).resolve()) for label, _, tree in
                 (item.partition("=") for item in args.compare)]
        with run.workdir() as work:
            out += [*machine(None), ""]
            found = compare(run, work, trees, workers, requests, rounds, fast)
            out += [_setup(requests, rounds, fast), "", *md_table(
                ["Code", "Served from"], [[label, f"`{tree}`"] for label, tree in trees]),
                "", *submission_lines(found, requests, rounds), "",
                "Slowest completed POST /submit: " + ", ".join(
                    f"{r.label} {max(r.post, default=0.0):.1f} s" for r in found) + ".", ""]
        out += ["## Load", "", f"`uptime` before: `{before}`; after: `{uptime()}`.", ""]
        run.write(out)
        return 0
    with run.workdir() as work:
        pg = Cluster() if bin_dir() else None
        try:
            if pg is not None:
                pg.start()
            out += [*machine(pg), ""]
            out += _sections(run, work, pg, workers, requests, rounds, cases, reps, walks,
                             depth, fast)
        finally:
            if pg is not None:
                pg.stop()
    after = uptime()
    out += ["## Load", "",
            f"`uptime` before: `{before}`; after: `{after}`. This machine (2 cores) was "
            "shared with other work during the run: absolute numbers are from a loaded "
            "machine; compare the ratios, measured in the same run.", ""]
    run.write(out)
    return 0


def _sections(run: Run, work: Path, pg: Cluster | None, workers: list[int], requests: int,
              rounds: int, cases: int, reps: int, walks: int, depth: int,
              fast: crypto.Argon2Params) -> list[str]:
    out: list[str] = []
    title1 = "## 1. Submissions per second under gunicorn: SQLite vs PostgreSQL"
    title2 = "## 2. Casework inbox: PostgreSQL vs SQLite"
    title3 = "## 3. Submissions at production Argon2 cost"
    if pg is None:
        for title in (title1, title2, title3):
            out += [title, "", *missing(title[6:])]
        return out

    def one() -> list[str]:
        run.progress(f"1. submissions: {requests} per configuration, workers {workers}")
        found = submissions(run, work, pg, workers, requests, rounds, fast, "fast")
        return [title1, "", _setup(requests, rounds, fast), "",
                *submission_lines(found, requests, rounds), ""]

    def three() -> list[str]:
        if run.quick:
            return [title3, "", "_Not run in a quick run (section 1's code at another "
                    "Argon2 cost)._", ""]
        n = max(20, requests // 10)
        run.progress(f"3. submissions at crypto.PRODUCTION: {n} per configuration")
        found = submissions(run, work, pg, [2], n, 2, crypto.PRODUCTION, "production")
        p = crypto.PRODUCTION
        return [title3, "", f"As section 1 with 2 workers and `crypto.PRODUCTION` "
                f"(t={p.time_cost}, m={p.memory_kib // 1024} MiB, p={p.parallelism}), {n} "
                "submissions per configuration in two rounds. Argon2 takes most of the CPU "
                "here, so the two databases come out much closer than in section 1.", "",
                *submission_lines(found, n, 2), ""]

    out += run.attempt("Submissions", one, heading=title1)
    out += run.attempt("Inbox", lambda: [title2, "", *inbox(run, work, pg, cases, reps, walks,
                                                           depth)], heading=title2)
    out += run.attempt("Submissions at production cost", three, heading=title3)
    return out


def _setup(requests: int, rounds: int, argon2: crypto.Argon2Params) -> str:
    return (
        f"A fresh instance per configuration served by `gunicorn -c ops/gunicorn/intake.conf"
        ".py --no-control-socket` on loopback; PostgreSQL through `LYKTA_INTAKE_DATABASE_URL` "
        "(a fresh database on the private cluster), SQLite the default file in the "
        f"instance folder. A load generator in its own process ({CLIENTS} threads over "
        "`http.client`, one browser with its own cookies each) submits reports of 1 KiB of "
        "text, no file: GET `/submit` (CSRF token, session cookie), POST it as multipart, "
        "check the receipt page; a new connection per submission, no retries. Each "
        f"configuration gets {requests} timed submissions, {requests // rounds} in each of "
        f"{rounds} round(s) (the second in reverse order), after a warm-up of {WARMUP} per "
        "worker "
        "(untimed, a fresh server each round). Rate = submissions completed / wall time of "
        "the timed batch. Receipts at `crypto.INSECURE_FAST` "
        f"(t={argon2.time_cost}, m={argon2.memory_kib} KiB): this section measures the "
        "store path (form parsing, sealing the report, the envelope written and fsynced, "
        "the rows committed), not Argon2, which at `crypto.PRODUCTION` costs the same on "
        "both databases and would hide them (section 3 shows it). `argon2_concurrency` = "
        "the number of cores.")


if __name__ == "__main__":
    raise SystemExit(main())
