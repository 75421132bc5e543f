"""A quick smoke run of every benchmark: tiny sizes, cheap settings, a temporary folder.

Run from the repository root::

    .venv/bin/python -m bench.quick [--results DIR] [--only crypto,scrub]

Each benchmark runs its whole code path with ``--quick`` (see its ``--help``) in its own
process, a few at a time, and writes its result file into ``--results`` (default:
``$LYKTA_BENCH_RESULTS``, else a new temporary folder, kept and printed), never into
bench/results. The run fails if a benchmark exits with an error, writes no result file,
lacks one of its sections, or reports a section that failed: a benchmark that rots is
caught by ``make test`` (tests/bench) and ``make bench-quick``. Its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.harness import REPO_ROOT, RESULTS, RESULTS_ENV

# Each benchmark's module and the headings its result file must hold.
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    # Needs PostgreSQL: without it the sections say so, and with CI=true the bench fails.
    # First: the longest, so that the others run beside it.
    "production": ("bench.production_bench", [
        "## 1. Submissions per second under gunicorn: SQLite vs PostgreSQL",
        "## 2. Casework inbox: PostgreSQL vs SQLite",
        "## 3. Submissions at production Argon2 cost", "## Load"]),
    "crypto": ("bench.crypto_bench", [
        "## 1. Envelope throughput vs raw libsodium secretstream",
        "## 2. Sealing one report to one recipient", "## 3. Receipt derivation",
        "## 4. Peak memory (peak RSS, fresh child process)"]),
    "intake": ("bench.intake_bench", [
        "## Setup", "## Results", "## Where the CPU went", "### Bare Argon2 windows",
        "## Notes"]),
    "casework": ("bench.casework_bench", [
        "## 1. Inbox page latency vs number of cases",
        "## 2. Opening a case with a 10 MiB attachment"]),
    "bridge": ("bench.bridge_bench", [
        "## 1. Envelopes per second through `run_cycle`",
        "## 2. Peak memory while one 1 GiB envelope crosses the bridge"]),
    "scrub": ("bench.scrub_bench", ["## Cost per file class, production limits"]),
    "rekey": ("bench.rekey_bench", ["## 1. Rekey of a case after a declared conflict"]),
    "audit": ("bench.audit_bench", ["## 1. Verifying a chain of",
                                    "## 2. One checkpoint signature"]),
    "statistics": ("bench.statistics_bench", [
        "## 1. A quarterly release vs the plain SQL of the same counts"]),
}
FAILED = " failed:**"  # how bench.harness.failure_lines marks a section that failed


def check(name: str, folder: Path) -> list[str]:
    """What is wrong with one benchmark's result file (nothing: an empty list)."""
    path = folder / f"{name}.md"
    if not path.is_file():
        return [f"{name}: no result file {path}"]
    text = path.read_text(encoding="utf-8")
    problems = [f"{name}: no section {heading!r}"
                for heading in ["## Machine", *BENCHMARKS[name][1]] if heading not in text]
    problems += [f"{name}: {line.strip()}" for line in text.splitlines() if FAILED in line]
    return problems


def run_one(name: str, folder: Path, timeout: float) -> tuple[str, float, list[str]]:
    """Run one benchmark with --quick; return its name, seconds and problems."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", BENCHMARKS[name][0], "--quick", "--results", str(folder)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # SIGTERM first: a benchmark that started servers (PostgreSQL, gunicorn) stops them.
        proc.terminate()
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        return name, time.perf_counter() - start, [f"{name}: still running after {timeout:.0f} s"]
    took = time.perf_counter() - start
    if proc.returncode != 0:
        return name, took, [f"{name}: exit status {proc.returncode}:\n"
                            + stderr.strip()[-3000:]]
    return name, took, check(name, folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=Path, default=os.environ.get(RESULTS_ENV) or None,
                        help=f"folder for the result files (default: ${RESULTS_ENV}, else a "
                             "new temporary folder); never bench/results")
    parser.add_argument("--only", help="comma-separated benchmarks: " + ", ".join(BENCHMARKS))
    parser.add_argument("--jobs", type=int, default=3, help="benchmarks run at once (3)")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds one benchmark may take (240)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    folder: Path = args.results or Path(tempfile.mkdtemp(prefix="lykta-bench-quick-"))
    if folder.resolve() == RESULTS.resolve():
        parser.error("a quick run never writes into bench/results: name another folder")
    folder.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, took, found in pool.map(lambda n: run_one(n, folder, args.timeout), names):
            print(f"{name:9} {took:5.1f} s  {'ok' if not found else 'FAILED'}", flush=True)
            problems += found
    print(f"quick run: {len(names)} benchmark(s) in {time.perf_counter() - start:.1f} s; "
          f"result files in {folder}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
