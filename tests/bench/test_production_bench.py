"""bench.production_bench needs PostgreSQL: in CI its absence fails the run, never a skip.

The whole benchmark runs in test_bench_quick (``--quick``); these check the rule it
follows when PostgreSQL is missing, which that run cannot show on a machine that has it.
"""

from __future__ import annotations

import pytest

from bench.postgres import PostgresMissing, missing


def test_without_postgresql_in_ci_the_benchmark_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(PostgresMissing, match="required in CI"):
        missing("the inbox")


def test_without_postgresql_elsewhere_the_result_file_says_it_was_not_measured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    lines = missing("the inbox")
    assert "Not measured: PostgreSQL is not installed" in lines[0]
