"""Migrations of the intake database (scripts in the checkout's ``migrations/intake``)."""

from __future__ import annotations

from common.migrate import Environment

MIGRATIONS = Environment("intake")
SCRIPT_LOCATION = MIGRATIONS.script_location
alembic_config = MIGRATIONS.alembic_config
upgrade = MIGRATIONS.upgrade  # up to a revision (default: head)
downgrade = MIGRATIONS.downgrade  # down to a revision (default: base)
