"""Database access for one app: an engine and a session factory held by the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# A SQLite database holds password hashes, wrapped keys, sealed TOTP secrets and receipt
# lookups: owner-only, like every other secret file of an instance.
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class Database:
    """Engine and sessions of one app (no module-level globals)."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite"):
            make_sqlite_file_private(url)
        # Bound parameters stay out of every exception message and log line: a failed
        # statement's parameters hold headers, lookup tokens and other stored values,
        # and a commit that fails after the view (the unit of work commits in
        # after_request) is logged by Flask with its message, past the apps' own
        # type-only error logging.
        self.engine: Engine = create_engine(url, hide_parameters=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session


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


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys = ON")
    # secure_delete overwrites deleted content, so deleted envelopes, sessions and
    # purged personal data do not linger in free pages of the database file.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
