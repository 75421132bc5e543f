"""Many tipsters at once on the embedded SQLite database: every submission gets a receipt.

Submissions from many threads share one SQLite file (and, on PostgreSQL, one database);
every one is stored. Their transactions are short, so none waits long for the write lock:
test_write_lock_wait.py holds the lock from another process past the driver's own 5 s.
"""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import func, select

from intake.models import StoredEnvelope
from intake.services import EXTENSION

from .conftest import RECEIPT, report_form

THREADS, EACH = 6, 5


def test_concurrent_submissions_all_get_a_receipt_and_are_all_stored(app: Flask) -> None:
    receipts: list[str] = []
    failures: list[int] = []
    start = threading.Barrier(THREADS)

    def tipster() -> None:
        client = app.test_client()
        start.wait()
        for _ in range(EACH):
            response = client.post("/submit", data=report_form(client),
                                   content_type="multipart/form-data")
            match = RECEIPT.search(response.get_data(as_text=True))
            if response.status_code != 200 or match is None:
                failures.append(response.status_code)
            else:
                receipts.append(match.group(1))

    threads = [threading.Thread(target=tipster) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(receipts)) == THREADS * EACH
    with app.extensions[EXTENSION].db.session() as session:
        stored = session.scalar(select(func.count()).select_from(StoredEnvelope))
    assert stored is not None and stored >= THREADS * EACH

