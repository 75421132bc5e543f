"""Alembic migrations of the intake database, run in code (there is no ``alembic.ini``).

The scripts live in the checkout's ``migrations/intake`` (``migrations/casework`` is the
casework app's own environment).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations" / "intake"


def alembic_config(database_url: str) -> Config:
    """An Alembic Config for the intake environment against ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    # The Config is a ConfigParser: a literal "%" (e.g. a percent-encoded password)
    # must be doubled or it is read as interpolation.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the intake database at ``database_url`` up to ``revision`` (default: head)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the intake database at ``database_url`` down to ``revision`` (default: base)."""
    command.downgrade(alembic_config(database_url), revision)
