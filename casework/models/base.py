"""Declarative base with a naming convention so that Alembic names are stable."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def random_id() -> str:
    """A random 128-bit public id (never sequential)."""
    return secrets.token_hex(16)


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Base of every casework model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
