"""The bridge's last success is stamped atomically: two cycles ending at once, on two rq
workers and PostgreSQL, both succeed.

The race is forced, not hoped for: the first cycle's stamp is written and not yet
committed when the second cycle stamps; the second must wait for the first's row lock and
then update it. Read-then-insert (the old code) made the second see no row, insert, and
fail its whole cycle with a duplicate key once the first committed (CI saw it).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from casework.bridge.cycle import _mark_success
from casework.models import BridgeState
from casework.models.base import Base

DEADLINE = 30.0  # seconds: a hang fails the test instead of the suite


def test_two_cycles_stamping_at_once_both_succeed_with_one_row(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    Base.metadata.create_all(engine, tables=[BridgeState.__table__])  # type: ignore[list-item]
    waiting = threading.Event()

    def lock_waiters() -> int:
        with engine.connect() as connection:
            return int(connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")) or 0)

    def second_cycle() -> None:
        with Session(engine) as session, session.begin():
            waiting.set()
            _mark_success(session)  # blocks on the first's uncommitted row

    try:
        with Session(engine) as first, ThreadPoolExecutor(1) as pool:
            with first.begin():
                _mark_success(first)
                second = pool.submit(second_cycle)
                assert waiting.wait(DEADLINE)
                deadline = time.monotonic() + DEADLINE
                # Commit only once the second is blocked on our row (or has failed).
                while not (lock_waiters() or second.done()):
                    assert time.monotonic() < deadline, "the second stamp neither blocked nor ended"
                    time.sleep(0.005)  # polling a condition, not a delay deciding the order
            second.result(timeout=DEADLINE)  # raised IntegrityError before the upsert
        with Session(engine) as session:
            assert len(session.scalars(select(BridgeState)).all()) == 1
    finally:
        engine.dispose()


def test_a_later_cycle_moves_the_stamp_forward_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    Base.metadata.create_all(engine, tables=[BridgeState.__table__])  # type: ignore[list-item]
    long_ago = dt.datetime(2020, 1, 1)
    try:
        with Session(engine) as session, session.begin():
            session.add(BridgeState(name="last_success", at=long_ago))
        with Session(engine) as session, session.begin():
            _mark_success(session)
        with Session(engine) as session:
            (stamp,) = session.scalars(select(BridgeState.at)).all()
        assert stamp > long_ago
    finally:
        engine.dispose()
