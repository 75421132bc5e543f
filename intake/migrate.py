"""Migrations of the intake database (scripts in the checkout's ``migrations/intake``)."""

from __future__ import annotations

from alembic.config import Config

from common import migrate

ENVIRONMENT = "intake"
SCRIPT_LOCATION = migrate.MIGRATIONS / ENVIRONMENT


def alembic_config(database_url: str) -> Config:
    """An Alembic Config for the intake environment against ``database_url``."""
    return migrate.alembic_config(ENVIRONMENT, database_url)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the intake database up to ``revision`` (default: head)."""
    migrate.upgrade(ENVIRONMENT, database_url, revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the intake database down to ``revision`` (default: base)."""
    migrate.downgrade(ENVIRONMENT, database_url, revision)
