"""Alembic migrations run in code (there is no ``alembic.ini``).

Each app has its own environment under the checkout's ``migrations/<app>/``; the app's
``migrate`` module is that :class:`Environment`'s functions under the app's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Environment:
    """One app's migrations: the scripts in ``migrations/<name>``."""

    name: str

    @property
    def script_location(self) -> Path:
        return MIGRATIONS / self.name

    def alembic_config(self, database_url: str) -> Config:
        """An Alembic Config for this environment against ``database_url``."""
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.set_main_option("path_separator", "os")
        # The Config is a ConfigParser: a literal "%" (e.g. a percent-encoded password)
        # must be doubled or it is read as interpolation.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
        return config

    def upgrade(self, database_url: str, revision: str = "head") -> None:
        """Migrate the database at ``database_url`` up to ``revision`` (default: head).

        On PostgreSQL under an advisory lock: the nodes of one deployment share the
        database, and two of them starting (or running ``db upgrade``) at once would
        both see the old revision and both run the same DDL; the second would fail
        halfway or, worse, apply a data migration twice. The lock makes the second wait
        and then find the schema at head. SQLite databases are per machine: there the
        apps' start-up file lock (common.startup.exclusive) does the same job.
        """
        with _migration_lock(database_url, self.name):
            command.upgrade(self.alembic_config(database_url), revision)

    def heads(self) -> frozenset[str]:
        """The head revisions of this environment's scripts."""
        config = self.alembic_config("sqlite://")
        return frozenset(ScriptDirectory.from_config(config).get_heads())

    def current(self, database_url: str) -> frozenset[str]:
        """The revisions the database at ``database_url`` is at (empty: never migrated)."""
        engine = create_engine(database_url, poolclass=NullPool, hide_parameters=True)
        try:
            with engine.connect() as connection:
                return frozenset(MigrationContext.configure(connection).get_current_heads())
        finally:
            engine.dispose()

    def downgrade(self, database_url: str, revision: str = "base") -> None:
        """Migrate the database at ``database_url`` down to ``revision`` (default: base)."""
        with _migration_lock(database_url, self.name):
            command.downgrade(self.alembic_config(database_url), revision)


def lock_key(name: str) -> int:
    """The advisory lock id of an environment's migrations: a signed 64-bit number from
    its name, the same in every process (``hash()`` is salted per process)."""
    digest = hashlib.sha256(f"lykta-migrations-{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _migration_lock(database_url: str, name: str) -> Iterator[None]:
    """Hold PostgreSQL's session-level advisory lock for ``name`` (nothing elsewhere).

    On a connection of its own, outside Alembic's: the lock must be taken before Alembic
    reads the current revision, and session-level so it spans every migration's own
    transaction. Should this process die, PostgreSQL ends its session and so its lock.
    """
    if make_url(database_url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(database_url, poolclass=NullPool, hide_parameters=True,
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": lock_key(name)})
    finally:
        engine.dispose()
