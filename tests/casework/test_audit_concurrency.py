"""Units of work appending at the same time, on SQLite and on PostgreSQL: one gapless,
valid chain, no errors (SQLite: the write lock taken at BEGIN; PostgreSQL: the advisory
lock taken before the head is read)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import text

from casework.events import CaseRead, SignedIn
from common.unit_of_work import emit_on

from .accounts_support import DATABASES, app_on
from .audit_support import check, checkpoint_seqs, entries
from .conftest import services

THREADS = 8
UNITS_EACH = 6


@pytest.mark.parametrize("database", DATABASES)
def test_parallel_units_make_one_gapless_valid_chain(
        request: pytest.FixtureRequest, make_casework: Callable[..., Flask],
        database: str) -> None:
    app = app_on(request, make_casework, database)
    casework = services(app)
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        barrier.wait()
        for n in range(UNITS_EACH):
            with casework.unit() as unit:
                # A read first, as a request does: the head must still be read under the
                # lock, after whatever committed meanwhile.
                unit.session.execute(text("SELECT 1"))
                emit_on(unit.session, SignedIn(f"{worker:016d}{n:016d}"))
                if n % 2:
                    emit_on(unit.session, CaseRead("c" * 32, f"{worker:032d}"))

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(work, w) for w in range(THREADS)]:
            future.result()  # re-raises any error of a thread
    logged = entries(app)
    expected = THREADS * (UNITS_EACH + UNITS_EACH // 2)
    assert [e.seq for e in logged] == list(range(1, expected + 1))
    assert len(checkpoint_seqs(app)) == THREADS * UNITS_EACH
    verdict = check(app, batch=7)
    assert verdict.ok, verdict.problem
    assert verdict.head.seq == expected == verdict.head_file.seq  # type: ignore[union-attr]
