"""tests/postgresql.txt names the part of the suite that `make test` runs again on
PostgreSQL: every line a test file that exists, none twice, and the Makefile runs it."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
LISTED = [line.split("#")[0].strip()
          for line in (CHECKOUT / "tests/postgresql.txt").read_text().splitlines()]
FILES = [line for line in LISTED if line]


def test_every_listed_file_is_a_test_file_of_the_suite_once() -> None:
    assert FILES, "the PostgreSQL part is empty"
    for name in FILES:
        path = CHECKOUT / name
        assert path.is_file() and path.name.startswith("test_") and path.suffix == ".py", name
    assert len(set(FILES)) == len(FILES)


def test_make_test_runs_the_part_on_postgresql() -> None:
    makefile = (CHECKOUT / "Makefile").read_text()
    assert "LYKTA_TEST_DATABASE=postgresql" in makefile and "tests/postgresql.txt" in makefile
