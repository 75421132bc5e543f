"""Declarative base with a naming convention so that Alembic names are stable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from common.models import NAMING_CONVENTION, random_id

__all__ = ["NAMING_CONVENTION", "Base", "random_id", "utcnow"]



def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Base of every casework model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
