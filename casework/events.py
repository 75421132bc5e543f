"""What casework's domain layer did, as events: ids and codes only.

Emitted by the domain functions (with :func:`common.unit_of_work.emit_on`) and handed to
the subscribers of the app's :class:`common.unit_of_work.Dispatcher` (held by
:class:`casework.services.Casework`) when the unit of work commits; a unit that rolls back
drops its events. An event never carries content: no text, no file name, no key, no
user name typed at sign-in (a name that is no account is free text a person typed, and
may be a password typed into the wrong field). A subscriber that needs more reads it
from the session it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from common.unit_of_work import DomainEvent


class RefusalReason(StrEnum):
    """Why a sign-in was refused (a code, never what was typed)."""

    CREDENTIALS = "credentials"  # unknown name, wrong password or wrong code: never which
    LOCKED = "locked"


# --- reading and working a case ------------------------------------------------------


@dataclass(frozen=True)
class CaseRead(DomainEvent):
    """A reader opened (decrypted) a case."""

    case_id: str
    user_id: str


@dataclass(frozen=True)
class FileDownloaded(DomainEvent):
    """A reader downloaded an item of a case (as sent or scrubbed)."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class ReplySent(DomainEvent):
    """A reply to the tipster was sealed (it waits to be pushed to intake)."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class NoteAdded(DomainEvent):
    """An internal note was sealed to the case's readers."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class CaseAssigned(DomainEvent):
    """A unit lead (``by``) gave a case to a person (``user_id``)."""

    case_id: str
    user_id: str
    by: str
    envelopes_changed: int


# --- accounts ------------------------------------------------------------------------


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


# --- the bridge's import (emitted by casework/bridge, see its module) -----------------


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    """A new report came over the bridge and a case was opened for it."""

    case_id: str
    unit_id: str


@dataclass(frozen=True)
class ItemImported(DomainEvent):
    """An item of a case (the report, a follow-up, a file) came over the bridge;
    ``kind`` is its :class:`common.contract.EnvelopeKind` value."""

    case_id: str
    envelope_id: str
    kind: str


@dataclass(frozen=True)
class AcknowledgedAutomatically(DomainEvent):
    """The automatic acknowledgement of a new case was sealed for the tipster."""

    case_id: str
    envelope_id: str


# --- the command line (casework/cli.py) -----------------------------------------------


@dataclass(frozen=True)
class DirectoryExported(DomainEvent):
    """A new recipient directory was signed and recorded under ``serial`` (for intake)."""

    serial: int
