"""The case's workflow history: stage changes, escalations, conflicts, labels, links.

Rows hold codes, ids and dates only (what statistics and the timeline need). Every free
text a reader writes with an action is sealed to the case's readers as an envelope of
kind ``reason``; the row points at it (``reason_envelope_id``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, random_id, utcnow
from .cases import _case_received_on


class StageChange(Base):
    """One move of a case along the workflow graph (``casework.workflow``)."""

    __tablename__ = "stage_changes"
    # By stage and moment (migration 0012): the statistics read one stage's moves in a
    # period (casework.statistics.counts). By origin stage and moment (0013): the cases
    # reopened since a moment, whose history the statistics must read.
    __table_args__ = (Index("ix_stage_changes_case_at", "case_id", "at"),
                      Index("ix_stage_changes_stage_at", "to_stage", "at", "case_id"),
                      Index("ix_stage_changes_from_at", "from_stage", "at", "case_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    reason_code: Mapped[str] = mapped_column(String(32))
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    reopened: Mapped[bool] = mapped_column(default=False)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Escalation(Base):
    """A case sent to another unit, to KOF, or referred to an external authority."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_case_at", "case_id", "at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))  # EscalationKind
    # A unit id (unit, kof) or an authority code from the configured list (referral).
    destination: Mapped[str] = mapped_column(String(32))
    reason_code: Mapped[str] = mapped_column(String(32))
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Conflict(Base):
    """A reader's declared conflict of interest on a case.

    From ``declared_at`` the access check refuses the declarer; until ``rekeyed_at`` the
    case waits for the next person who can decrypt to rekey it (new content keys, bodies
    re-encrypted without the declarer's entry), and the unit lead sees it flagged.
    """

    __tablename__ = "conflicts"
    __table_args__ = (Index("ix_conflicts_user_case", "user_id", "case_id"),
                      Index("ix_conflicts_case_rekeyed", "case_id", "rekeyed_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    declared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    rekeyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    rekeyed_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class CaseLabel(Base):
    """A short label a reader put on a case at triage (staff's words, never content)."""

    __tablename__ = "case_labels"
    # The label filter pages through one label's cases in date order (keyset), like the
    # readership index: its cost is a page, not every case with the label.
    __table_args__ = (Index("ix_case_labels_label_received", "label", "received_on",
                            "case_id"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The case's received_on, copied at insert (it never changes; see CaseReader).
    received_on: Mapped[dt.date] = mapped_column(Date, default=_case_received_on)


class CaseLink(Base):
    """A link from one case to another. ``related`` is stored in both directions; a
    ``duplicate`` row says ``case_id`` duplicates ``linked_case_id`` (the primary), with
    a ``related`` row back so that the primary shows it too."""

    __tablename__ = "case_links"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    linked_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True,
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16))  # LinkKind
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
