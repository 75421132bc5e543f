"""What casework's domain layer did, as events: ids and codes only.

Emitted by the domain functions (with :func:`common.unit_of_work.emit_on`) and handed to
the subscribers of the app's :class:`common.unit_of_work.Dispatcher` (held by
:class:`casework.services.Casework`) when the unit of work commits; a unit that rolls back
drops its events. An event never carries content: no text, no file name, no key, no
user name typed at sign-in (a name that is no account is free text a person typed, and
may be a password typed into the wrong field). A subscriber that needs more reads it
from the session it is given.

The events are defined in four modules, by what they are about, so that each stays a
list one can read through:

- :mod:`.cases`: a case read, worked, moved along the workflow, imported, held or
  purged (each names its ``case_id``, the audit log's case column);
- :mod:`.reporters`: the reporter's side of a case, a confidential identity under four
  eyes and the minutes of an oral report;
- :mod:`.accounts`: staff accounts, sessions and keys (a person, never a case);
- :mod:`.operations`: the instance as a whole, its command line, runs, jobs, audit log
  and statistics (counts and ids, never a case).

This package is the one import path (``from casework.events import CaseRead``): it
re-exports every event, and :data:`ALL` lists them in one place for whoever must see
them all (the audit log's action filter; the tests that hold every event to the rules
above). The dispatcher subscribes by type (:class:`common.unit_of_work.DomainEvent` for
the audit log), so where an event is defined changes nothing of how it is handed on.
"""

from __future__ import annotations

from types import ModuleType

from common.unit_of_work import DomainEvent

from . import accounts, cases, operations, reporters
from .accounts import (
    CasesReaddressed,
    EmailChanged,
    EnrolmentCompleted,
    EnrolmentStarted,
    KeyApproved,
    KeyRotated,
    PasswordReset,
    RefusalReason,
    SignedIn,
    SignedOut,
    SignInRefused,
    UserCreated,
)
from .cases import (
    AcknowledgedAutomatically,
    CaseAssigned,
    CaseEscalated,
    CaseMerged,
    CaseOpened,
    CasePurged,
    CaseRead,
    CaseReferred,
    CaseRekeyed,
    CasesHandedOver,
    CasesLinked,
    CasesUnlinked,
    CaseTriaged,
    CaseUnassigned,
    ConflictDeclared,
    FeedbackDeadlineExtended,
    FeedbackRecorded,
    FileDownloaded,
    ItemImported,
    LegalHoldLifted,
    LegalHoldPlaced,
    NoteAdded,
    ReplySent,
    StageChanged,
)
from .operations import (
    ApiTokenCreated,
    ApiTokenRevoked,
    AuditLogExported,
    AuditVerificationStarted,
    BackupCreated,
    BackupRestored,
    BridgeCycleCompleted,
    DemoHistorySeeded,
    DirectoryExported,
    FailedJobDiscarded,
    FailedJobRetried,
    IntakeCommandsDelivered,
    RemindersSent,
    RetentionChanged,
    RetentionReviewed,
    StatisticsReleased,
    UnitAdded,
)
from .reporters import (
    IdentityRead,
    IdentityRecoveredFromEscrow,
    IdentityRequestApproved,
    IdentityRequested,
    IdentityRequestRefused,
    IdentityRequestWithdrawn,
    MinutesAnswered,
    MinutesSent,
    OralReportRecorded,
)

__all__ = [
    "ALL",
    "AcknowledgedAutomatically",
    "ApiTokenCreated",
    "ApiTokenRevoked",
    "AuditLogExported",
    "AuditVerificationStarted",
    "BackupCreated",
    "BackupRestored",
    "BridgeCycleCompleted",
    "CaseAssigned",
    "CaseEscalated",
    "CaseMerged",
    "CaseOpened",
    "CasePurged",
    "CaseRead",
    "CaseReferred",
    "CaseRekeyed",
    "CaseTriaged",
    "CaseUnassigned",
    "CasesHandedOver",
    "CasesLinked",
    "CasesReaddressed",
    "CasesUnlinked",
    "ConflictDeclared",
    "DemoHistorySeeded",
    "DirectoryExported",
    "EmailChanged",
    "EnrolmentCompleted",
    "EnrolmentStarted",
    "FailedJobDiscarded",
    "FailedJobRetried",
    "FeedbackDeadlineExtended",
    "FeedbackRecorded",
    "FileDownloaded",
    "IdentityRead",
    "IdentityRecoveredFromEscrow",
    "IdentityRequestApproved",
    "IdentityRequestRefused",
    "IdentityRequestWithdrawn",
    "IdentityRequested",
    "IntakeCommandsDelivered",
    "ItemImported",
    "KeyApproved",
    "KeyRotated",
    "LegalHoldLifted",
    "LegalHoldPlaced",
    "MinutesAnswered",
    "MinutesSent",
    "NoteAdded",
    "OralReportRecorded",
    "PasswordReset",
    "RefusalReason",
    "RemindersSent",
    "ReplySent",
    "RetentionChanged",
    "RetentionReviewed",
    "SignInRefused",
    "SignedIn",
    "SignedOut",
    "StageChanged",
    "StatisticsReleased",
    "UnitAdded",
    "UserCreated",
]


def _defined_in(*modules: ModuleType) -> tuple[type[DomainEvent], ...]:
    """The events each module defines (not those it imports), in the order given."""
    return tuple(value for module in modules for value in vars(module).values()
                 if isinstance(value, type) and issubclass(value, DomainEvent)
                 and value.__module__ == module.__name__)


# Every event of casework, by module; a new module of events is added here (a test fails
# if one is left out).
ALL: tuple[type[DomainEvent], ...] = _defined_in(cases, reporters, accounts, operations)
