"""Database access for one app: an engine and a session factory held by the app."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# A SQLite database holds password hashes, wrapped keys, sealed TOTP secrets and receipt
# lookups: owner-only, like every other secret file of an instance.
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
SQLITE_BUSY_SECONDS = 30.0
_BEGIN_OPTION = "lykta_sqlite_begin"


class Database:
    """Engine and sessions of one app (no module-level globals)."""

    def __init__(self, url: str, *, immediate_writes: bool = False) -> None:
        if url.startswith("sqlite"):
            make_sqlite_file_private(url)
        # Bound parameters stay out of every exception message and log line: a failed
        # statement's parameters hold headers, lookup tokens and other stored values,
        # and a commit that fails after the view (the unit of work commits in
        # after_request) is logged by Flask with its message, past the apps' own
        # type-only error logging.
        sqlite_immediate = immediate_writes and url.startswith("sqlite")
        # A busy database makes a writer wait (up to this long: at BEGIN with immediate
        # writes, at its first write otherwise) instead of failing. The driver's own
        # default, 5 s, was too short under several gunicorn workers on a loaded host:
        # a submission then failed with "database is locked" and its tipster got an
        # error page and no receipt (bench/results/production.md). Without immediate
        # writes the driver opens the transaction just before the first write, so reads
        # before it hold no snapshot that a commit elsewhere could make stale, and the
        # wait covers the whole upgrade (tests/intake/test_write_lock_wait.py).
        connect_args = {"timeout": SQLITE_BUSY_SECONDS} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, hide_parameters=True,
                                            connect_args=connect_args)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # ``sessions`` (what a unit of work opens) and ``session()`` (a short transaction of
        # one's own) are the same but for SQLite with immediate writes: see
        # _begin_immediately for why units take the write lock at BEGIN and own
        # transactions do not.
        units = self.engine
        if sqlite_immediate:
            _begin_immediately(self.engine)
            units = self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        self.sessions = sessionmaker(units, expire_on_commit=False)
        self._own_sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self._own_sessions() as session, session.begin():
            yield session


def upsert(session: Session, entity: Any, values: Mapping[str, Any], *,
           key: Sequence[Any], update: Mapping[str, Any]
           ) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` in the session's dialect: an insert or
    update in one statement, so that two transactions creating the same row at once
    cannot both find it missing and the second fail on the key."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity).values(**values).on_conflict_do_update(
            index_elements=key, set_=update)
    return sqlite.insert(entity).values(**values).on_conflict_do_update(
        index_elements=key, set_=update)


def make_sqlite_file_private(url: str) -> None:
    """Create the SQLite file owner-only before anything opens it; tighten an old one.

    SQLite creates its -wal and -shm files with the mode of the database file, so a
    0600 database gets 0600 companions. Files made by older versions (0644 under the
    usual umask) and their companions are tightened here too. In-memory databases have
    no file.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will fail with its own clear error
    # O_CREAT with 0600: created private, never briefly readable by others.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        if candidate.exists():
            candidate.chmod(PRIVATE_FILE)


def _begin_immediately(engine: Engine) -> None:
    """Units of work take SQLite's write lock at BEGIN (SQLAlchemy's pysqlite recipe).

    In WAL mode a transaction that has read and then writes fails at once
    (SQLITE_BUSY_SNAPSHOT) if another connection committed in between: waiting cannot
    help, its snapshot is stale. Casework appends every action to the audit chain, whose
    head is read and then extended, so two requests at once would otherwise fail or fork
    the chain. Taking the lock at BEGIN serialises the units of work instead; the busy
    timeout makes the second one wait. The driver's own transaction handling is turned
    off, so that the BEGIN is the one emitted here.

    A short transaction of one's own (:meth:`Database.session`) begins deferred: it
    appends nothing to the chain, and it may be opened while a unit of the same thread
    holds the lock (a read beside the request's unit, say), which BEGIN IMMEDIATE would
    wait for in vain. Such a transaction must not write while its thread's unit holds the
    lock.
    """

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(connection: object, _record: object) -> None:
        connection.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION,
                                                                          "BEGIN"))


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys = ON")
    # secure_delete overwrites deleted content, so deleted envelopes, sessions and
    # purged personal data do not linger in free pages of the database file. (In WAL mode
    # the old page images stay in the WAL until it is reset: casework's retention job
    # checkpoints with TRUNCATE after a purge, casework/retention_jobs.py.)
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
