"""Intake database: only sealed envelopes, sealed dialogue items, lookup tokens and
tipster public keys (and short-lived sessions whose keys are locked under a cookie secret).

Ids are random. Tables are created WITHOUT ROWID on SQLite so that the physical order of
rows follows the random primary key, not the order in which tipsters arrived. Dates are
stored as dates (no time of day): nothing orders envelopes more finely than delivery needs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from common.models import NAMING_CONVENTION, random_id

# Table options: random-key order on disk in SQLite (ignored by other databases).
_NO_ROWID = {"sqlite_with_rowid": False}


def today() -> dt.date:
    """The current UTC date: the only precision at which tipster actions are stored."""
    return dt.datetime.now(dt.UTC).date()


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReceiptRecord(Base):
    """One report's dialogue anchor: what a receipt derives to, and nothing that decrypts."""

    __tablename__ = "receipts"
    __table_args__ = _NO_ROWID

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    lookup_token: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    tipster_public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # Argon2 params as JSON; indexed because every sign-in asks which sets are in use.
    kdf: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    recipient_key_ids: Mapped[str] = mapped_column(Text)  # JSON list of hex key ids
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)

    envelopes: Mapped[list[StoredEnvelope]] = relationship(
        back_populates="receipt", cascade="all, delete-orphan"
    )


class StoredEnvelope(Base):
    """A sealed envelope: header here, body in the storage folder under its id.

    ``audience`` says who can open it: ``casework`` (waiting for sync, deleted after
    acknowledgement) or ``tipster`` (the dialogue, sealed to the tipster key).
    """

    __tablename__ = "envelopes"
    __table_args__ = _NO_ROWID

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("receipts.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    header: Mapped[bytes] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(Integer)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)

    receipt: Mapped[ReceiptRecord] = relationship(back_populates="envelopes")


class TipsterSession(Base):
    """A signed-in tipster: the tipster key locked under a secret held only in the cookie.

    The row does not name the receipt: which dialogue it opens is found from the key's
    public half, so a copy of this table links no session to a report.
    """

    __tablename__ = "tipster_sessions"
    __table_args__ = _NO_ROWID

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    locked_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Rounded up to the hour: purging needs no finer time.
    purge_after: Mapped[dt.datetime] = mapped_column(DateTime)


class DirectoryState(Base):
    """The recipient directory in force, kept to refuse a rollback to an older one."""

    __tablename__ = "directory_state"
    __table_args__ = _NO_ROWID

    name: Mapped[str] = mapped_column(String(32), primary_key=True, default="current")
    serial: Mapped[int] = mapped_column(Integer)
    document: Mapped[bytes] = mapped_column(LargeBinary)


class SyncNonce(Base):
    """Nonces of accepted sync requests, kept until they expire: the replay cache.

    In the database rather than in memory so that every worker process shares it and a
    restart does not reopen a replay window.
    """

    __tablename__ = "sync_nonces"
    __table_args__ = _NO_ROWID

    nonce: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SyncState(Base):
    """When the bridge last completed a request (for the health display)."""

    __tablename__ = "sync_state"
    __table_args__ = _NO_ROWID

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
