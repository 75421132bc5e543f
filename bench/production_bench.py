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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crypto
from bench import harness
from bench.harness import HOST, Run, fmt_ms, free_port, md_table, p50_p95, pct
from bench.postgres import Cluster, PostgresMissing, bin_dir, missing
from tests.support.casework import services
from tests.support.processes import process_tree

CONFIG = harness.REPO_ROOT / "ops" / "gunicorn" / "intake.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
CLIENTS = 8  # load generator threads: twice the server threads of one worker (4)
WARMUP = 6  # untimed submissions per worker before each timed batch (2 in a quick run)
OWN_PREFIXES = ("LYKTA_INTAKE_", "LYKTA_CASEWORK_", "LYKTA_GUNICORN_", "LYKTA_INSTANCE")


# --------------------------------------------------------------------------- the load


def generate(port: int, requests: int, clients: int) -> dict[str, Any]:
    """``clients`` browsers submit ``requests`` text reports between them (no retries)."""
    from bench.intake_bench import Browser, RunResult, report_cycle

    result = RunResult("load")
    lock = threading.Lock()
    cycle = report_cycle(None)
    left = [requests]

    def client() -> None:
        browser = Browser(port)
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            cycle(browser, result, lock)
        browser.close()

    start, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - start
    return {"wall": wall, "cpu": time.process_time() - cpu, "completed": len(result.cycles),
            "post": [s.seconds for s in result.samples if s.kind == "POST /submit" and s.ok],
            "get": [s.seconds for s in result.samples if s.kind == "GET /submit" and s.ok],
            "errors": dict(result.errors),
            "busy": sum(n for (_, status), n in result.statuses.items() if status == 503)}


def load_generator(port: int, warmup: int, requests: int, clients: int) -> None:
    """The child process: warm up, say so, wait for the word, then the timed batch; its
    answer is one JSON line on stdout."""
    generate(port, warmup, clients)
    print("warm", flush=True)
    sys.stdin.readline()
    print(json.dumps(generate(port, requests, clients)), flush=True)


@contextmanager
def load_child(port: int, warmup: int, requests: int, clients: int
               ) -> Iterator[Callable[[], dict[str, Any]]]:
    """Start the load generator in a separate process (its GIL and CPU are not the
    bench's) and wait until its warm-up is done; yields the function that starts the
    timed batch and returns its answer."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.production_bench", "--load-generator", str(port),
         "--warmup", str(warmup), "--requests", str(requests), "--clients", str(clients)],
        cwd=harness.REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None

    def go() -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        proc.wait(timeout=60)
        if not line.strip():
            raise RuntimeError("load generator failed: "
                               + (proc.stderr.read() if proc.stderr else "")[-2000:])
        answer: dict[str, Any] = json.loads(line)
        return answer

    try:
        if proc.stdout.readline().strip() != "warm":
            proc.wait(timeout=60)
            raise RuntimeError("load generator failed: "
                               + (proc.stderr.read() if proc.stderr else "")[-2000:])
        yield go
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------- the server


def _proc_cpu(pid: int, children_too: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (
        int(fields[13]) + int(fields[14]) if children_too else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Intake:
    """One instance folder and, while :meth:`serving`, gunicorn with the production config."""

    name: str  # "SQLite" or "PostgreSQL"
    root: Path
    database_url: str | None  # None: the default SQLite file in the instance folder
    argon2: crypto.Argon2Params
    port: int = 0  # while serving

    def environ(self) -> dict[str, str]:
        # The bench decides every setting: none leaks in from the caller's shell.
        env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        env["LYKTA_INSTANCE"] = str(self.root)
        if self.database_url:
            env["LYKTA_INTAKE_DATABASE_URL"] = self.database_url
        return env

    def create(self) -> None:
        """Keys, a signed directory and intake.json (bench.intake_bench's); the database
        migrated once here, so that the workers never race to migrate a fresh one."""
        from bench.intake_bench import make_instance
        from intake import IntakeConfig, create_app

        self.root.mkdir(mode=0o700, parents=True)
        make_instance(self.root, harness.usable_cores(), self.argon2)
        if self.database_url:
            app = create_app(IntakeConfig.from_instance(self.root, environ=self.environ()))
            app.extensions["lykta.intake.db"].engine.dispose()

    @contextmanager
    def serving(self, workers: int, log: Path) -> Iterator[Callable[[], float]]:
        """gunicorn on a loopback port with ``workers`` workers; yields the port's CPU
        meter (seconds of the master and its workers) after a ready check."""
        port = free_port()
        env = {**self.environ(), "LYKTA_GUNICORN_BIND": f"{HOST}:{port}",
               "LYKTA_GUNICORN_WORKERS": str(workers)}
        # --no-control-socket: gunicorn >= 25 opens one under ~/.gunicorn by default,
        # which a bench has no use for and which concurrent runs would fight over.
        command = [str(GUNICORN), "-c", str(CONFIG), "--no-control-socket"]
        with log.open("ab") as out:
            proc = subprocess.Popen(command, cwd=harness.REPO_ROOT, env=env,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            self._wait_ready(proc, port, workers, log)

            def cpu() -> float:
                return _proc_cpu(proc.pid, children_too=True) + sum(
                    _proc_cpu(pid) for pid in process_tree(proc.pid)[1:])

            self.port = port
            yield cpu
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in reversed(process_tree(proc.pid)):
                    os.kill(pid, 9)
                proc.wait(timeout=10)

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int, workers: int,
                    log: Path, timeout: float = 120.0) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}: "
                                   + log.read_text(errors="replace")[-2000:])
            if len(process_tree(proc.pid)) == workers + 1:
                try:
                    conn = http.client.HTTPConnection(HOST, port, timeout=5)
                    conn.request("GET", "/readyz")
                    if conn.getresponse().status == 200:
                        conn.close()
                        return
                    conn.close()
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become ready in time: "
                           + log.read_text(errors="replace")[-2000:])


@dataclass
class Measured:
    """One configuration, pooled over the rounds."""

    database: str
    workers: int
    wall: float = 0.0
    completed: int = 0
    post: list[float] = field(default_factory=list)
    get: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    other_cpu: float = 0.0
    failures: int = 0
    busy: int = 0

    @property
    def label(self) -> str:
        return f"{self.database}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    @property
    def rate(self) -> float:
        return self.completed / self.wall if self.wall else float("nan")

    def add(self, answer: dict[str, Any], server_cpu: float, other_cpu: float) -> None:
        self.wall += answer["wall"]
        self.completed += answer["completed"]
        self.post += answer["post"]
        self.get += answer["get"]
        self.failures += sum(answer["errors"].values())
        self.busy += answer["busy"]
        self.server_cpu += server_cpu
        self.other_cpu += other_cpu


def measure(intake: Intake, workers: int, requests: int, log: Path, into: Measured,
            warmup: int = WARMUP) -> None:
    """Serve, warm up (untimed), then one timed batch of ``requests`` submissions."""
    with intake.serving(workers, log) as server_cpu, \
            load_child(intake.port, warmup * workers, requests, CLIENTS) as go:
        # The warm-up has run: every worker's first requests (templates, connections).
        busy0, own0, cpu0, t0 = (harness.machine_busy(), harness.own_cpu(children=False),
                                 server_cpu(), time.perf_counter())
        answer = go()
        busy1, own1, cpu1, t1 = (harness.machine_busy(), harness.own_cpu(children=False),
                                 server_cpu(), time.perf_counter())
    other = 0.0
    if busy0 and busy1:  # machine busy time minus gunicorn, the load generator and us,
        # as a share of the window's wall time (then scaled to the batch's)
        other = max(0.0, busy1[0] - busy0[0] - (cpu1 - cpu0) - answer["cpu"]
                    - (own1 - own0)) / (t1 - t0) * answer["wall"]
    into.add(answer, cpu1 - cpu0, other)


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
            measure(intakes[f"{db}-{n}"], n, per_round, work / f"{tag}-gunicorn.log",
                    results[(db, n)], 2 if run.quick else WARMUP)
    return [results[key] for key in order]


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
    return md_table(
        ["Configuration", "Submitted", "Submissions/s", f"Rate / {base.label}",
         "POST /submit p50 / p95", f"p95 / {base.label}", "GET /submit p50 / p95",
         "gunicorn CPU per submission", "Other processes (cores)", "Failed / 503"], rows)


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
        lite, post = (cb.finish_inbox(site, walks, depth) for site in sites)
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
    parser.add_argument("--clients", type=int, default=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--load-generator", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator:
        load_generator(args.load_generator, args.warmup, args.requests, args.clients)
        return 0
    from bench.casework_bench import uptime

    run = Run("production", args)
    workers = [1, 2] if run.quick else [int(n) for n in args.workers.split(",")]
    requests, rounds = (24, 1) if run.quick else (args.requests, 2)
    cases = 1_000 if run.quick else args.cases
    reps, walks, depth = (2, 1, 2) if run.quick else (30, 3, 20)
    fast = crypto.INSECURE_FAST
    out = run.heading("Lykta in production: SQLite vs PostgreSQL under gunicorn")
    before = uptime()
    with run.workdir() as work:
        pg: Cluster | None = None
        try:
            pg = Cluster().start() if bin_dir() else None
        except PostgresMissing:
            pg = None
        try:
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
