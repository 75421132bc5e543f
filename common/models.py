"""Conventions both apps' models share."""

from __future__ import annotations

import secrets

# Stable constraint names, so that Alembic migrations name things the same everywhere.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def random_id() -> str:
    """A random 128-bit public id as 32 hex characters (never sequential)."""
    return secrets.token_hex(16)
