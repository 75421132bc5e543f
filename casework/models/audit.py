"""The tamper-evident audit log: a hash chain of entries and signed checkpoints.

An entry holds who (a user id), when, what (an action code), which case (its id, not a
foreign key: the entry outlives the case's content), and details made of codes and ids
only. Never content, never a tipster's text. ``casework.audit`` appends and verifies.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEntry(Base):
    """One entry of the chain: ``hash`` = H(prev_hash || canonical form of the entry)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_case_seq", "case_id", "seq"),
                      Index("ix_audit_entries_actor_seq", "actor_id", "seq"),
                      Index("ix_audit_entries_action_seq", "action", "seq"),
                      Index("ix_audit_entries_at", "at"))

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(32), default=None)
    action: Mapped[str] = mapped_column(String(48))
    case_id: Mapped[str | None] = mapped_column(String(32), default=None)
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON, codes only
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signature (Ed25519, key kept outside the database) over the chain head at ``seq``."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
