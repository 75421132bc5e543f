"""Alembic migrations run in code (there is no ``alembic.ini``).

Each app has its own environment under the checkout's ``migrations/<app>/``; the app's
``migrate`` module is that :class:`Environment`'s functions under the app's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

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
        """Migrate the database at ``database_url`` up to ``revision`` (default: head)."""
        command.upgrade(self.alembic_config(database_url), revision)

    def downgrade(self, database_url: str, revision: str = "base") -> None:
        """Migrate the database at ``database_url`` down to ``revision`` (default: base)."""
        command.downgrade(self.alembic_config(database_url), revision)
