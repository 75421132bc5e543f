"""A submission that meets SQLite's write lock held by another process waits for it.

Under several gunicorn workers every worker is a process of its own writing to the one
SQLite file. A submission that finds the write lock taken must wait for it and then be
stored, not fail with "database is locked" (an error page, no receipt: the tipster's
report is lost). The driver's own wait is 5 s, too short on a loaded host
(bench/results/production.md); intake's connections wait up to
``common.db.SQLITE_BUSY_SECONDS`` (30 s).

The second test says why waiting is enough for a submission: its transaction writes
before it reads. A deferred transaction that has read and then writes fails at once if
another process committed in between (its snapshot is stale, and no wait can help);
one whose first statement is a write waits on the lock like any other.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event, func, select

from common.db import SQLITE_BUSY_SECONDS
from intake.models import ReceiptRecord, StoredEnvelope
from intake.services import EXTENSION
from tests.support.databases import sqlite_only

from .conftest import RECEIPT, report_form

DRIVER_DEFAULT_SECONDS = 5.0  # sqlite3.connect's own timeout
HOLD_SECONDS = 7.0  # longer than the driver's wait, well within ours

# Another writer, in a process of its own like another gunicorn worker: takes the write
# lock, says so, keeps it for HOLD_SECONDS (the point of the test, not a wait for a
# condition), commits, and says when (CLOCK_MONOTONIC is the same in every process).
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE directory_state SET serial = serial")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print(time.monotonic(), flush=True)
"""


def _database_file(app: Flask) -> Path:
    database = app.extensions[EXTENSION].db.engine.url.database
    assert database
    return Path(database)


def _count(app: Flask, model: type[object]) -> int:
    with app.extensions[EXTENSION].db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@sqlite_only
def test_a_submission_waits_out_another_process_holding_the_write_lock(app: Flask) -> None:
    assert DRIVER_DEFAULT_SECONDS < HOLD_SECONDS < SQLITE_BUSY_SECONDS
    client = app.test_client()
    form = report_form(client)  # the form first: only the POST meets the lock
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(_database_file(app)),
                               str(HOLD_SECONDS)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        response = client.post("/submit", data=form, content_type="multipart/form-data")
        answered = time.monotonic()
        released = float(holder.stdout.readline())
        assert holder.wait(timeout=30) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert RECEIPT.search(response.get_data(as_text=True))
    assert answered > released  # it waited for the lock instead of failing
    assert _count(app, ReceiptRecord) == 1
    assert _count(app, StoredEnvelope) == 2  # the report and the tipster's own copy


@sqlite_only
def test_a_submission_writes_before_it_reads_in_its_transaction(app: Flask) -> None:
    client = app.test_client()
    form = report_form(client)
    statements: list[tuple[bool, str]] = []

    @event.listens_for(app.extensions[EXTENSION].db.engine, "checkout")
    def trace(connection: object, _record: object, _proxy: object) -> None:
        def note(sql: str) -> None:
            statements.append((connection.in_transaction,  # type: ignore[attr-defined]
                               sql.split(None, 1)[0].upper()))
        connection.set_trace_callback(note)  # type: ignore[attr-defined]

    response = client.post("/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    in_transaction = [verb for inside, verb in statements if inside]
    assert in_transaction, statements
    assert in_transaction[0] == "INSERT", statements  # the first statement after BEGIN
    assert in_transaction[-1] == "COMMIT", statements
