"""Nodes that share one PostgreSQL database migrate it one at a time (common/migrate.py).

Two processes that start together both see an empty database; without a lock both would
run the same DDL. With the advisory lock the second waits, then finds the schema at head.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from common.migrate import Environment, lock_key
from intake.models import Base
from tests.support.processes import stop

CHECKOUT = Path(__file__).resolve().parents[2]
# The models are imported first (Alembic's env.py would import them inside upgrade(),
# after the lock), so that the processes queue on the lock, not on Python's start-up.
MIGRATE = "import sys; import intake.models; from common.migrate import Environment; " \
          "Environment('intake').upgrade(sys.argv[1])"


def _waiting_for_the_lock(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )).scalar_one())
    finally:
        engine.dispose()


def test_two_processes_migrating_one_database_at_once_both_succeed(postgres_url: str) -> None:
    holder = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with holder.connect() as connection:
            # The test takes the lock first, so that both processes are surely inside
            # upgrade() at the same moment, waiting, when it lets go.
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("intake")})
            processes = [subprocess.Popen([sys.executable, "-c", MIGRATE, postgres_url],
                                          cwd=CHECKOUT, stderr=subprocess.PIPE)
                         for _ in range(2)]
            deadline = time.monotonic() + 20
            while _waiting_for_the_lock(postgres_url) < 2:
                assert time.monotonic() < deadline, "the processes never waited for the lock"
                assert all(p.poll() is None for p in processes), "a process ended early"
                time.sleep(0.05)
            assert Environment("intake").current(postgres_url) == frozenset()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                               {"k": lock_key("intake")})
        for process in processes:
            _, errors = process.communicate(timeout=60)
            assert process.returncode == 0, errors.decode()[-2000:]
    finally:
        for process in processes:
            stop(process)
        holder.dispose()
    assert Environment("intake").current(postgres_url) == Environment("intake").heads()
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")
                                      ).scalar_one() == 1
        assert set(inspect(engine).get_table_names()) == \
            set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()
