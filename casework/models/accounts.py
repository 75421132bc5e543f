"""Accounts: people, units, the role a person has in a unit, and their sessions."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, random_id, utcnow


class Role(StrEnum):
    """The roles of the design brief."""

    ADMINISTRATOR = "administrator"
    UNIT_LEAD = "unit_lead"
    REVIEWER = "reviewer"
    CUSTODIAN = "custodian"
    STATISTICIAN = "statistician"
    AUDITOR = "auditor"


# Roles whose holders read content and therefore have an X25519 key pair.
KEY_HOLDING_ROLES = frozenset({Role.REVIEWER, Role.UNIT_LEAD, Role.CUSTODIAN})


class Unit(Base):
    """A unit: Etikkommittén, Antikorruptionsteamet, KOF (configurable)."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_sv: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    alternate_unit_id: Mapped[str | None] = mapped_column(String(32), default=None)
    receives_reports: Mapped[bool] = mapped_column(Boolean, default=True)
    # Days after a case concludes before its content is purged (Act 2021:890: at most two
    # years); None: the instance's retention_days.
    retention_days: Mapped[int | None] = mapped_column(default=None)


class User(Base):
    """A staff account. The private key is stored only wrapped under the password."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # Where deadline reminders go (casework.deadlines): counts and a link, never content.
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sealed under the instance's totp.key ("sealed:" + base64 of crypto.seal_secret), so a
    # copy of the database alone does not give the second factor (casework/totp.py).
    totp_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last accepted TOTP time step: a code is accepted once (no replay within its window).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    # When the last failure was counted: counters are forgotten a day later, exactly as for
    # unknown names (SignInThrottle), so the two cannot be told apart.
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The key the recipient directory publishes. It differs from public_key only when a
    # new key pair was made after an administrator's password reset: such a key waits
    # for a second administrator's approval (`keys approve`) before intake seals to it.
    approved_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    # Who reset the password that led to the pending key (they may not approve it).
    key_reset_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        """Every role the person has, in any unit."""
        return frozenset(Role(m.role) for m in self.memberships)

    def units_with(self, *roles: Role) -> frozenset[str]:
        """The units where the person has one of ``roles``."""
        return frozenset(m.unit_id for m in self.memberships if Role(m.role) in roles)


class Membership(Base):
    """A person's one role in one unit."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="memberships")


class StaffSession(Base):
    """A signed-in staff member. The key is locked under a secret held only in the cookie."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    locked_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Enrolment(Base):
    """A checked password waiting for TOTP set-up: single use, short-lived, server-side.

    Only the random id goes into the cookie. Completing the enrolment deletes the row, so
    a copy of the cookie replayed later finds nothing (no secret shown, no new password).
    """

    __tablename__ = "enrolments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SignInThrottle(Base):
    """Failed sign-ins for names that are not (active) accounts, counted like real ones.

    Keyed by an HMAC of the name under the app's secret key: the table never holds the
    names people typed (often a real person's name with a typo, or a password).
    """

    __tablename__ = "sign_in_throttle"

    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    last_failed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
