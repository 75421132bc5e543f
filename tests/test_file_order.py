"""The order in which `make test` starts the files (tests/conftest.py, LONGEST_FIRST)."""

from __future__ import annotations

from tests.conftest import CHECKOUT, LONGEST_FIRST


def test_every_file_named_longest_first_exists_once() -> None:
    for name in LONGEST_FIRST:
        assert (CHECKOUT / name).is_file(), f"{name} is gone: update LONGEST_FIRST"
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_make_test_keeps_the_order_of_the_collection() -> None:
    # Without --no-loadscope-reorder xdist sorts the files by their number of tests again.
    makefile = (CHECKOUT / "Makefile").read_text()
    assert "--dist loadfile --no-loadscope-reorder" in makefile
