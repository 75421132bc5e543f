"""KOF's statistics: published releases and the tokens of the open-data API.

A release holds only what was published: tables already put through disclosure control
(suppressed cells marked, never their values) and the suppression pattern that the next
release of the same period must keep. No row here names a case.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, random_id, utcnow


class StatisticsRelease(Base):
    """One published set of tables for a period (a quarter or a year)."""

    __tablename__ = "statistics_releases"
    __table_args__ = (Index("ix_statistics_releases_period", "period", "released_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    kind: Mapped[str] = mapped_column(String(16))  # ReleaseKind: quarterly, annual
    period: Mapped[str] = mapped_column(String(16))  # "2026-Q3" or "2026"
    released_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    # The disclosure settings it was released under (casework.config: statistics_k,
    # statistics_protection).
    k: Mapped[int] = mapped_column(Integer)
    protection: Mapped[int] = mapped_column(Integer)
    # The audit log's head (sequence number and hash) at the end of the period, printed in
    # the report so that anyone can later check the log was not rewritten.
    audit_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    audit_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # The released tables, in the versioned export schema (casework.statistics.export).
    tables: Mapped[str] = mapped_column(Text)
    # Per table, the cells suppressed: a later release of the same period suppresses at
    # least these, so differencing two releases reveals nothing.
    pattern: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    """A token of the statistics API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    name: Mapped[str] = mapped_column(String(100))  # who holds it, e.g. "Transparensportalen"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
