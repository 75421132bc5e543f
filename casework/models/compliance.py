"""The legal duties beyond the workflow (Casework III): identity requests under four eyes,
oral reports and their minutes, deadline reminders and extensions, legal holds and purges,
and the commands casework sends intake through the bridge.

Rows hold ids, codes and dates only (for the timeline, statistics and the audit log).
Every free text a person writes with an action (a request's reason, a custodian's
decision, a hold's reason) is sealed as an envelope; the row points at it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, random_id, utcnow


class IdentityRequest(Base):
    """A reader's request to read a confidential reporter's identity (four eyes).

    The identity envelope is nested (``crypto.custody``): the inner layer is sealed to the
    case's readers, the outer to the custodians. A custodian other than the requester
    approves by adding the requester to the outer header: only then can the requester,
    with their own key, open both layers.
    """

    __tablename__ = "identity_requests"
    __table_args__ = (Index("ix_identity_requests_case_at", "case_id", "requested_at"),
                      Index("ix_identity_requests_status", "status", "requested_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    requester_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason_code: Mapped[str] = mapped_column(String(32))  # IdentityReasonCode
    # The requester's reason in their words: sealed to the custodians and the requester.
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # IdentityRequestStatus
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    decision_code: Mapped[str | None] = mapped_column(String(32), default=None)
    # The custodian's reasons: sealed to the custodians and the requester.
    decision_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    notice: Mapped[str | None] = mapped_column(String(16), default=None)  # ReporterNotice
    # TOLD: the notice sent into the dialogue (a MESSAGE envelope to the tipster);
    # WITHHELD: why telling would jeopardise the investigation (sealed, like the reasons).
    notice_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    first_read_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class OralReport(Base):
    """A report a reader recorded from a phone call or a meeting (Art. 9(2), 18).

    The case is created in casework; the reporter gets a receipt (shown once) and intake
    learns its lookup token and tipster key through the bridge. The minutes go into the
    dialogue, sealed to the tipster key; the reporter approves them or sends corrections.
    """

    __tablename__ = "oral_reports"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # OralChannel
    recorded_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The newest minutes sent for approval (a MESSAGE envelope of the case).
    minutes_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    minutes_status: Mapped[str] = mapped_column(String(16), default="awaiting")  # MinutesStatus
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class FeedbackExtension(Base):
    """The feedback deadline extended from three to six months, with a recorded reason."""

    __tablename__ = "feedback_extensions"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    reason_code: Mapped[str] = mapped_column(String(32))  # ExtensionReasonCode
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    extended_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    extended_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReminderSent(Base):
    """One reminder e-mail about one deadline of one case: sent once, never again."""

    __tablename__ = "reminders_sent"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)  # ReminderKind
    # The deadline it was about: an extension moves the deadline and allows a new reminder.
    deadline: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LegalHold(Base):
    """A legal hold pauses the purge of a case until it is lifted."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_case_lifted", "case_id", "lifted_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    reason_code: Mapped[str] = mapped_column(String(32))  # HoldReasonCode
    reason_envelope_id: Mapped[str | None] = mapped_column(String(32), default=None)
    placed_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    lifted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class IntakeCommand(Base):
    """A command for intake, waiting for the bridge (at-least-once; intake is idempotent).

    ``payload`` is the command's wire form (``common.contract``): a lookup token and a
    public key for a new receipt, or the receipt id whose dialogue to forget. Never a
    receipt code, never content.
    """

    __tablename__ = "intake_commands"
    __table_args__ = (Index("ix_intake_commands_delivered", "delivered_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    kind: Mapped[str] = mapped_column(String(24))  # IntakeCommandKind
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), default=None)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


__all__ = ["FeedbackExtension", "IdentityRequest", "IntakeCommand", "LegalHold", "OralReport",
           "ReminderSent"]
