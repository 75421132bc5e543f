"""Alembic migrations run in code (there is no ``alembic.ini``).

Each app has its own environment under the checkout's ``migrations/<app>/``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(environment: str, database_url: str) -> Config:
    """An Alembic Config for ``migrations/<environment>`` against ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / environment))
    config.set_main_option("path_separator", "os")
    # The Config is a ConfigParser: a literal "%" (e.g. a percent-encoded password)
    # must be doubled or it is read as interpolation.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(environment: str, database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` up to ``revision`` (default: head)."""
    command.upgrade(alembic_config(environment, database_url), revision)


def downgrade(environment: str, database_url: str, revision: str = "base") -> None:
    """Migrate the database at ``database_url`` down to ``revision`` (default: base)."""
    command.downgrade(alembic_config(environment, database_url), revision)
