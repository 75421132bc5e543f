"""Empty databases at the newest revision, migrated once per test run and copied.

Running an app's migrations takes about half a second, and the suite builds hundreds of
apps; a test starts from a copy of a migrated database instead (``create_app`` still runs
the migrations and finds nothing to do). ``tests/migrations`` runs them from an empty
database on SQLite and PostgreSQL, so the migrations themselves stay tested.

``LYKTA_TEST_DATABASE=postgresql`` (a switch of the test suite only, read here) gives the
fixtures that make an app's database (:func:`app_database`) a fresh PostgreSQL database
instead of a SQLite file: each worker migrates one template database per app on its
private server, and every test gets ``CREATE DATABASE ... TEMPLATE`` of it (a file copy,
a few milliseconds), dropped again when the test ends. ``make test`` runs the
database-facing part of the suite (``tests/postgresql.txt``) a second time that way.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from casework import migrate as casework_migrate
from intake import migrate as intake_migrate

_MIGRATE = {"casework": casework_migrate.upgrade, "intake": intake_migrate.upgrade}
_templates: dict[str, Path] = {}

# Which database the apps of the tests run on: "sqlite" (the default) or "postgresql".
DIALECT = os.environ.get("LYKTA_TEST_DATABASE", "sqlite")
if DIALECT not in ("sqlite", "postgresql"):
    raise RuntimeError(f"LYKTA_TEST_DATABASE must be sqlite or postgresql, not {DIALECT!r}")
ON_POSTGRESQL = DIALECT == "postgresql"

# Not applicable under the switch: the test is about SQLite itself (its file, WAL,
# secure_delete, its write lock). A stated reason, not a missing service: a skip, in CI too.
sqlite_only = pytest.mark.skipif(
    ON_POSTGRESQL, reason="not applicable on PostgreSQL: a test of the SQLite file itself")


def _template(app: str) -> Path:
    if app not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="lykta-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / f"{app}.sqlite"
        _MIGRATE[app](f"sqlite:///{path}")
        with sqlite3.connect(path) as connection:  # fold the WAL into the file
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _templates[app] = path
    return _templates[app]


def migrated_copy(app: str, target: Path) -> Path:
    """Put an empty, migrated ``app`` SQLite database ("intake" or "casework") at ``target``."""
    shutil.copyfile(_template(app), target)
    target.chmod(0o600)
    return target


def app_database(app: str, folder: Path) -> str:
    """The URL of a fresh, empty, migrated ``app`` database for an instance in ``folder``:
    ``folder/<app>.sqlite``, or under ``LYKTA_TEST_DATABASE=postgresql`` a new database on
    the session's PostgreSQL server."""
    if ON_POSTGRESQL:
        return _postgres.copy(app)
    return f"sqlite:///{migrated_copy(app, folder / f'{app}.sqlite')}"


class _PostgresCopies:
    """Template databases on one server and the copies made of them."""

    def __init__(self) -> None:
        self.socket_dir: str | None = None
        self.templates: set[str] = set()
        self.created: list[str] = []
        self._admin: Engine | None = None

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://lykta@/{name}?host={self.socket_dir}"

    def use(self, socket_dir: str) -> None:
        self.socket_dir = socket_dir
        self._admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def _execute(self, statement: str) -> None:
        if self._admin is None:
            raise RuntimeError("LYKTA_TEST_DATABASE=postgresql but no server is in use "
                               "(tests/conftest.py's app_databases fixture starts it)")
        with self._admin.connect() as connection:
            connection.execute(text(statement))

    def copy(self, app: str) -> str:
        template = f"lykta_template_{app}"
        if template not in self.templates:
            self._execute(f'CREATE DATABASE "{template}"')
            _MIGRATE[app](self.url(template))  # NullPool: no connection stays open
            self.templates.add(template)
        name = f"lykta_{app}_{uuid.uuid4().hex[:12]}"
        # FILE_COPY copies the template's files: much faster than WAL_LOG (PostgreSQL 15's
        # default) for a small database, and the server runs without fsync anyway.
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        self.created.append(name)
        return self.url(name)

    def drop_since(self, count: int) -> None:
        """Drop the databases made after the first ``count`` (those of one test); FORCE
        ends the connections an app's pool still holds."""
        while len(self.created) > count:
            self._execute(f'DROP DATABASE IF EXISTS "{self.created.pop()}" WITH (FORCE)')

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        self._admin, self.socket_dir = None, None
        self.templates.clear()


_postgres = _PostgresCopies()


def use_postgres_server(socket_dir: str) -> None:
    """Make app databases on the server listening in ``socket_dir`` (one per session)."""
    _postgres.use(socket_dir)


def postgres_databases_made() -> int:
    """How many app databases were made so far (mark before a test)."""
    return len(_postgres.created)


def drop_postgres_databases_since(count: int) -> None:
    """Drop the app databases made after mark ``count`` (after a test)."""
    _postgres.drop_since(count)


def stop_using_postgres_server() -> None:
    _postgres.drop_since(0)
    _postgres.close()


def stored_bytes(url: str) -> bytes:
    """What the database at ``url`` holds, for tests that look for a secret in it.

    On SQLite: the file and its WAL, journal and shared memory as bytes on disk, deleted
    rows included (``secure_delete`` must have zeroed them). On PostgreSQL: every value of
    every row of every table, bytes as they are and the rest as text; dead tuples and the
    server's own WAL are out of a test's reach (docs/retention.md: what VACUUM leaves).
    """
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path.with_name(path.name + suffix)
                                                 for suffix in ("", "-wal", "-journal", "-shm"))
                        if p.exists())
    engine = create_engine(url)
    try:
        values: list[bytes] = []
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (names from the catalogue)
                    values += [bytes(v) if isinstance(v, bytes | memoryview)
                               else str(v).encode() for v in row if v is not None]
        return b"\n".join(values)
    finally:
        engine.dispose()


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's WAL into the database file (nothing to do on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
