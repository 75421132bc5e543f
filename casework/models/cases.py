"""Cases and their sealed envelopes. Content lives only in envelopes; the case row holds
metadata (unit, category, agency, dates, stage) that statistics and the inbox need."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    select,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.contract import Stage

from .base import Base, random_id, utcnow

# Stage: the contract's (ISO 37002), re-exported.
__all__ = ["ACKNOWLEDGE_WITHIN", "FEEDBACK_EXTENDED_WITHIN", "FEEDBACK_WITHIN", "Assignment",
           "Case", "CaseEnvelope", "CaseReader", "Stage"]


# Legal deadlines (EU 2019/1937, Swedish Act 2021:890).
ACKNOWLEDGE_WITHIN = dt.timedelta(days=7)
FEEDBACK_WITHIN = dt.timedelta(days=90)
# Art. 11(2)(f): six months "in duly justified cases", with the reason recorded
# (casework.models.compliance.FeedbackExtension).
FEEDBACK_EXTENDED_WITHIN = dt.timedelta(days=182)


class Case(Base):
    """One report and everything that follows from it."""

    __tablename__ = "cases"
    __table_args__ = (
        # The inbox is read per unit, newest first, in pages: keyset on (unit, received, id).
        Index("ix_cases_unit_received", "unit_id", "received_on", "id"),
        # Stage and priority filters of the inbox walk these in date order (keyset), so a
        # rare stage costs a page, not the unit (casework.inbox).
        Index("ix_cases_stage_received", "stage", "received_on", "id"),
        Index("ix_cases_priority_received", "priority", "received_on", "id"),
        # The open cases at a period's end skip those concluded before it (migration
        # 0012; casework.statistics.figures_time.open_by_age).
        Index("ix_cases_stage_concluded", "stage", "concluded_on"),
        # Import refuses a new receipt that reuses another case's tipster key (a forged
        # report from a compromised intake, aimed at an existing tipster's replies).
        Index("ix_cases_tipster_public_key", "tipster_public_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    category: Mapped[str] = mapped_column(String(32))
    # Only a code from common.vocabulary.AGENCIES (or "other"): a free-text agency the
    # tipster typed stays sealed in the report, never in a row anyone with the database
    # (or the inbox) can read.
    agency: Mapped[str | None] = mapped_column(String(300), default=None)
    stage: Mapped[str] = mapped_column(String(16), default=Stage.RECEIVED.value)
    received_on: Mapped[dt.date] = mapped_column(Date)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    feedback_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # The workflow (casework.workflow): the outcome of a concluded case, when it was
    # concluded, and how urgently it is worked (set at triage).
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    priority: Mapped[str] = mapped_column(String(16), default="normal",
                                          server_default="normal")
    # A duplicate merged into its primary case: the primary's timeline shows its items;
    # both keep their own envelopes.
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), default=None)
    # Where replies go: the tipster key (replies are sealed to it) and intake's receipt id.
    tipster_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    intake_receipt_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # A MAC, under the report's content key, over the key ids new items may be sealed to
    # (crypto.recipient_list_tag): the header alone is not authenticated, so without it
    # write access to this database would be enough to be sealed every new note and reply.
    readers_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    # Casework III. The feedback deadline extended to six months (the reason is a
    # FeedbackExtension row); the day the case's content was purged (retention): the row
    # stays for statistics and the audit log, every envelope body and header is gone.
    feedback_extended: Mapped[bool] = mapped_column(default=False, server_default="0")
    purged_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # Directive art. 27(2): estimated financial damage and amounts recovered, in whole
    # kronor, where the conclusion records them (optional; statistics only).
    damage_estimate_sek: Mapped[int | None] = mapped_column(BigInteger, default=None)
    recovered_sek: Mapped[int | None] = mapped_column(BigInteger, default=None)

    envelopes: Mapped[list[CaseEnvelope]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEnvelope.created_at",
        foreign_keys="CaseEnvelope.case_id",
    )

    @property
    def acknowledge_by(self) -> dt.date:
        """The legal deadline for acknowledging receipt."""
        return self.received_on + ACKNOWLEDGE_WITHIN

    @property
    def feedback_by(self) -> dt.date:
        """The legal deadline for feedback to the tipster (six months once extended)."""
        return self.received_on + (FEEDBACK_EXTENDED_WITHIN if self.feedback_extended
                                   else FEEDBACK_WITHIN)


class CaseEnvelope(Base):
    """A sealed item of a case: report, file, identity, tipster message, reply, note."""

    __tablename__ = "case_envelopes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the envelope id
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    header: Mapped[bytes] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    # Replies and status updates wait here until pushed to intake (at-least-once).
    delivered: Mapped[bool] = mapped_column(default=True)
    # "intake" for everything that came over the bridge, "casework" for what staff sealed.
    # A compromised intake signs whatever it likes, so an imported item is always shown as
    # the tipster's, whatever its sealed payload claims about its author.
    origin: Mapped[str] = mapped_column(String(16), default="casework",
                                        server_default="casework")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Bumped by each rekey (conflict of interest): the body is stored under a new name
    # per generation, so a crash between the database commit and the file move never
    # pairs a new header with an old body (casework.conflicts).
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    case: Mapped[Case] = relationship(back_populates="envelopes",
                                      foreign_keys=[case_id])

    @property
    def body_name(self) -> str:
        """The name of this generation's body in the envelope store (32 hex digits).

        Generation 0 is the envelope id itself; a rekeyed body gets a name of its own,
        derived from the id and the generation, so the old body stays in place until the
        new header that needs the new body has committed.
        """
        if self.generation == 0:
            return self.id
        return hashlib.blake2b(f"{self.id}:{self.generation}".encode(),
                               digest_size=16).hexdigest()


def _case_received_on(context: DefaultExecutionContext) -> dt.date | None:
    """The case's ``received_on``, for a row that copies it (see :class:`CaseReader`).

    A column default, so every path that adds a reader or an assignment (the flush
    listener, the lead's form, a handover, a test's direct row) fills it; paths that have
    the case at hand pass it and save the query.
    """
    case_id = context.get_current_parameters()["case_id"]  # type: ignore[no-untyped-call]
    found: dt.date | None = context.connection.scalar(
        select(Case.received_on).where(Case.id == case_id))
    return found


class Assignment(Base):
    """A case given to a person by a unit lead: their key is added to every envelope."""

    __tablename__ = "assignments"
    __table_args__ = (
        # The personal inbox (mine=1, assignee=): the person's assignments in date order.
        Index("ix_assignments_user_received", "user_id", "received_on", "case_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # The case's received_on, copied (it never changes): the inbox pages through a
    # person's assignments in date order without reading their cases.
    received_on: Mapped[dt.date] = mapped_column(Date, default=_case_received_on)
    assigned_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CaseReader(Base):
    """A person whose key is in the case's report header: who may find it in the inbox.

    Derived from the header (casework.readers keeps it in step on every flush), so the
    inbox filters by readership in SQL, with keyset pagination, instead of by unit: a
    reviewer the tipster left out never sees that the case exists.
    """

    __tablename__ = "case_readers"
    __table_args__ = (
        # The inbox pages through the person's own cases in date order (keyset), so its
        # cost is a page, not the unit: a newcomer who reads nothing costs nothing.
        Index("ix_case_readers_user_received", "user_id", "received_on", "case_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # The case's received_on, copied at insert (it never changes; see Assignment).
    received_on: Mapped[dt.date] = mapped_column(Date, default=_case_received_on)
