"""Events about staff accounts: signing in and out, enrolment, passwords, keys, e-mail.

They name a person (``user_id``, and ``by`` when someone acts on another's account),
never a case: the seam between these and :mod:`casework.events.cases`. Their one hazard
is what people type at sign-in: a refusal carries a code (:class:`RefusalReason`), never
the name typed (a name that is no account is free text, and may be a password typed into
the wrong field), and a session is never named by its id (with the cookie's secret it is
half of a credential).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from common.unit_of_work import DomainEvent


class RefusalReason(StrEnum):
    """Why a sign-in was refused (a code, never what was typed)."""

    CREDENTIALS = "credentials"  # unknown name, wrong password or wrong code: never which
    LOCKED = "locked"


# --- sessions and enrolment (casework/sessions.py, authentication.py, enrolment.py) ---


@dataclass(frozen=True)
class SignedIn(DomainEvent):
    """A staff session was opened (after password and code, or after enrolment).

    Not the session's id: with the cookie's secret it is half of a credential."""

    user_id: str


@dataclass(frozen=True)
class SignInRefused(DomainEvent):
    """A sign-in was refused. ``user_id`` only when the name is an active account."""

    reason: RefusalReason
    user_id: str | None = None


@dataclass(frozen=True)
class SignedOut(DomainEvent):
    """A staff session was closed by its holder."""

    user_id: str


@dataclass(frozen=True)
class EnrolmentStarted(DomainEvent):
    """A checked one-time password began an enrolment (TOTP set-up)."""

    user_id: str


@dataclass(frozen=True)
class EnrolmentCompleted(DomainEvent):
    """TOTP confirmed and password chosen; ``new_key`` if a key pair was made."""

    user_id: str
    new_key: bool
    awaits_approval: bool


# --- accounts and keys (casework/accounts.py, casework/key_recovery.py) ---------------


@dataclass(frozen=True)
class UserCreated(DomainEvent):
    """An administrator (``by``, None from the command line) created an account."""

    user_id: str
    unit_id: str
    role: str
    by: str | None = None


@dataclass(frozen=True)
class PasswordReset(DomainEvent):
    """An administrator (``by``: their user name, as recorded on the row) reset a
    person's password; every session of theirs ended."""

    user_id: str
    by: str


@dataclass(frozen=True)
class KeyRotated(DomainEvent):
    """A key holder got a new key pair."""

    user_id: str
    awaits_approval: bool


@dataclass(frozen=True)
class KeyApproved(DomainEvent):
    """A second administrator (``by``, a user id) approved a key made after a reset."""

    user_id: str
    by: str


@dataclass(frozen=True)
class CasesReaddressed(DomainEvent):
    """Key recovery with the escrow key gave a person's new key back their cases."""

    user_id: str
    envelopes: int
    refused: int


@dataclass(frozen=True)
class EmailChanged(DomainEvent):
    """An administrator (``by``) set or cleared a person's e-mail address (not logged)."""

    user_id: str
    by: str
