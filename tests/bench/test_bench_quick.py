"""Every benchmark still runs: ``python -m bench.quick`` into a temporary folder.

The full benchmarks take many minutes and are run by hand (``make bench``); this smoke run
goes through each one's whole code path with tiny sizes, so a benchmark that rots (an
import that moved, a changed signature, a section that raises) fails ``make test``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import RESULTS
from bench.quick import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_benchmark_runs_quickly_into_a_temporary_folder(tmp_path: Path) -> None:
    before = {path: path.stat().st_mtime_ns for path in RESULTS.glob("*.md")}
    env = {key: value for key, value in os.environ.items() if key != "LYKTA_BENCH_RESULTS"}
    done = subprocess.run([sys.executable, "-m", "bench.quick", "--results", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    for name, (_, headings) in BENCHMARKS.items():
        text = (tmp_path / f"{name}.md").read_text(encoding="utf-8")
        assert "## Machine" in text and "| Code measured | sha256 " in text, name
        assert "Quick smoke run" in text, name
        for heading in headings:
            assert heading in text, (name, heading)
    # The recorded results are left alone.
    assert {path: path.stat().st_mtime_ns for path in RESULTS.glob("*.md")} == before


def test_a_quick_run_refuses_to_write_into_the_recorded_results() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.quick", "--results", str(RESULTS),
                           "--only", "scrub"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "never writes into bench/results" in done.stderr
