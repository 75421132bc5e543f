"""Migrations of the casework database (scripts in the checkout's ``migrations/casework``)."""

from __future__ import annotations

from alembic.config import Config

from common import migrate

ENVIRONMENT = "casework"
SCRIPT_LOCATION = migrate.MIGRATIONS / ENVIRONMENT


def alembic_config(database_url: str) -> Config:
    """An Alembic Config for the casework environment against ``database_url``."""
    return migrate.alembic_config(ENVIRONMENT, database_url)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the casework database up to ``revision`` (default: head)."""
    migrate.upgrade(ENVIRONMENT, database_url, revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the casework database down to ``revision`` (default: base)."""
    migrate.downgrade(ENVIRONMENT, database_url, revision)
