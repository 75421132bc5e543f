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


# --- the workflow: triage, stages, assignment, escalation, conflicts -----------------
# Codes and ids only; a reason's free text is sealed (``reason_envelope_id`` points at it).


@dataclass(frozen=True)
class CaseTriaged(DomainEvent):
    """A reader set the case's triage fields; ``changed`` names them (never values
    that could be content: a typed "other" agency is sealed, only its code is here)."""

    case_id: str
    user_id: str
    changed: tuple[str, ...]


@dataclass(frozen=True)
class CasesLinked(DomainEvent):
    """Two cases were linked (``kind``: a :class:`casework.models.LinkKind` value)."""

    case_id: str
    linked_case_id: str
    kind: str
    user_id: str


@dataclass(frozen=True)
class CasesUnlinked(DomainEvent):
    """A link between two cases was removed."""

    case_id: str
    linked_case_id: str
    user_id: str


@dataclass(frozen=True)
class CaseMerged(DomainEvent):
    """A duplicate was merged into its primary case's timeline (envelopes kept)."""

    case_id: str
    into_case_id: str
    user_id: str


@dataclass(frozen=True)
class StageChanged(DomainEvent):
    """A case moved along the workflow graph; the tipster was told (``status_envelope_id``)."""

    case_id: str
    user_id: str
    from_stage: str
    to_stage: str
    reason_code: str
    outcome: str | None = None
    reopened: bool = False
    reason_envelope_id: str | None = None
    status_envelope_id: str | None = None
    # A conclusion's two optional amounts (art. 27(2)), whole kronor: numbers only, as
    # the case row holds them (not personal data; never the text that was typed).
    damage_estimate_sek: int | None = None
    recovered_sek: int | None = None


@dataclass(frozen=True)
class FeedbackRecorded(DomainEvent):
    """A reply was marked as the legal feedback to the tipster (Art. 9(1)(f))."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class CaseUnassigned(DomainEvent):
    """A unit lead (``by``) took a case from a person (``user_id``)."""

    case_id: str
    user_id: str
    by: str


@dataclass(frozen=True)
class CasesHandedOver(DomainEvent):
    """A bulk handover of one person's cases to another; ``skipped`` were refused
    (the receiver excluded by the tipster, or not able to read the case's unit)."""

    from_user_id: str
    to_user_id: str
    by: str | None
    handed_over: int
    skipped: int


@dataclass(frozen=True)
class CaseEscalated(DomainEvent):
    """A case was sent inside Lykta (``kind`` unit or kof) to unit ``destination``;
    ``readers_added`` people of that unit became recipients."""

    case_id: str
    user_id: str
    kind: str
    destination: str
    reason_code: str
    readers_added: int
    reason_envelope_id: str | None = None


@dataclass(frozen=True)
class CaseReferred(DomainEvent):
    """A case was referred to an external authority (a code of the configured list)."""

    case_id: str
    user_id: str
    authority: str
    reason_code: str
    reason_envelope_id: str | None = None
    status_envelope_id: str | None = None


@dataclass(frozen=True)
class ConflictDeclared(DomainEvent):
    """A reader declared a conflict of interest: refused from now on, rekey pending."""

    case_id: str
    user_id: str


@dataclass(frozen=True)
class CaseRekeyed(DomainEvent):
    """A reader (``user_id``) rekeyed a case after a declared conflict: new content
    keys, bodies re-encrypted; ``removed`` people lost their entries."""

    case_id: str
    user_id: str
    envelopes: int
    removed: int


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


@dataclass(frozen=True)
class UnitAdded(DomainEvent):
    """A unit was created (``units init`` or ``units add``); ``receives_reports`` as set."""

    unit_id: str
    alternate_unit_id: str | None
    receives_reports: bool


@dataclass(frozen=True)
class BridgeCycleCompleted(DomainEvent):
    """A bridge cycle (``mode``: ``online``) or an air-gap bundle import (``bundle``)
    finished: counts only; each item's unit told of the item itself."""

    mode: str
    imported: int
    acknowledged: int
    pushed: int
    skipped: int


# --- the audit log (casework/audit) ---------------------------------------------------


@dataclass(frozen=True)
class AuditLogExported(DomainEvent):
    """An auditor exported (a filtered part of) the audit log; ``filtered`` names the
    filters used (never their values: a free-text filter is what someone typed)."""

    user_id: str
    format: str
    filtered: tuple[str, ...]


# --- confidential identities under four eyes (casework/identity.py) -------------------


@dataclass(frozen=True)
class IdentityRequested(DomainEvent):
    """A reader asked to read a confidential reporter's identity (a code; the reason's
    words are sealed to the custodians and the requester)."""

    case_id: str
    user_id: str
    request_id: str
    reason_code: str


@dataclass(frozen=True)
class IdentityRequestWithdrawn(DomainEvent):
    """The requester withdrew a pending identity request."""

    case_id: str
    user_id: str
    request_id: str


@dataclass(frozen=True)
class IdentityRequestApproved(DomainEvent):
    """A custodian (``user_id``, never the requester) approved a request and released the
    outer key to the requester; ``notice`` says whether the reporter was told first."""

    case_id: str
    user_id: str
    request_id: str
    requester_id: str
    decision_code: str
    notice: str


@dataclass(frozen=True)
class IdentityRequestRefused(DomainEvent):
    """A custodian refused a request, with a reason."""

    case_id: str
    user_id: str
    request_id: str
    requester_id: str
    decision_code: str


@dataclass(frozen=True)
class IdentityRead(DomainEvent):
    """An approved requester opened the identity (both layers, with their own key)."""

    case_id: str
    user_id: str
    request_id: str


@dataclass(frozen=True)
class IdentityRecoveredFromEscrow(DomainEvent):
    """The escrow key (offline, split among KOF's custodians) opened an identity."""

    case_id: str


# --- oral and in-person reports (casework/oral.py) ------------------------------------


@dataclass(frozen=True)
class OralReportRecorded(DomainEvent):
    """A reader recorded an oral report: a case was opened and a receipt issued."""

    case_id: str
    user_id: str
    channel: str


@dataclass(frozen=True)
class MinutesSent(DomainEvent):
    """Minutes of an oral report went into the reporter's dialogue for approval."""

    case_id: str
    user_id: str
    envelope_id: str


@dataclass(frozen=True)
class MinutesAnswered(DomainEvent):
    """The reporter approved the minutes (``status`` approved) or sent corrections."""

    case_id: str
    envelope_id: str
    status: str


# --- deadlines (casework/deadlines.py) ------------------------------------------------


@dataclass(frozen=True)
class FeedbackDeadlineExtended(DomainEvent):
    """The feedback deadline was extended to six months, with a reason code."""

    case_id: str
    user_id: str
    reason_code: str
    reason_envelope_id: str | None = None


@dataclass(frozen=True)
class RemindersSent(DomainEvent):
    """A reminder run sent ``messages`` e-mails about ``cases`` cases (counts only)."""

    messages: int
    cases: int
    failed: int


# --- retention (casework/retention.py) ------------------------------------------------


@dataclass(frozen=True)
class LegalHoldPlaced(DomainEvent):
    """A legal hold paused the purge of a case."""

    case_id: str
    user_id: str
    hold_id: str
    reason_code: str


@dataclass(frozen=True)
class LegalHoldLifted(DomainEvent):
    """A legal hold was lifted."""

    case_id: str
    user_id: str
    hold_id: str


@dataclass(frozen=True)
class RetentionChanged(DomainEvent):
    """An administrator set a unit's retention period (None: the instance default)."""

    user_id: str
    unit_id: str
    days: int | None


@dataclass(frozen=True)
class RetentionReviewed(DomainEvent):
    """A dry run listed ``due`` cases due for purging (``held`` of them under a hold)."""

    due: int
    held: int


@dataclass(frozen=True)
class CasePurged(DomainEvent):
    """A case's content was purged: ``envelopes`` envelopes (bodies and headers) removed
    from the database and the store; the row stays for statistics and the audit log."""

    case_id: str
    envelopes: int


# --- commands to intake through the bridge (casework/bridge) --------------------------


@dataclass(frozen=True)
class IntakeCommandsDelivered(DomainEvent):
    """The bridge delivered commands to intake (registered receipts, forgotten
    dialogues): counts only."""

    registered: int
    forgotten: int


# --- staff e-mail addresses (casework/accounts.py; deadline reminders) ------------------


@dataclass(frozen=True)
class EmailChanged(DomainEvent):
    """An administrator (``by``) set or cleared a person's e-mail address (not logged)."""

    user_id: str
    by: str


# --- the audit log verified from the auditor's page (casework/audit/verification.py) ---


@dataclass(frozen=True)
class AuditVerificationStarted(DomainEvent):
    """An auditor started a check of the whole audit log (``run``: the run's id)."""

    user_id: str
    run: str


# --- KOF statistics (casework/statistics) -----------------------------------------------


@dataclass(frozen=True)
class StatisticsReleased(DomainEvent):
    """A statistician published the figures of an ended ``period`` ("2026-Q3", "2026")
    as a release of ``kind`` (quarterly, annual)."""

    user_id: str
    release_id: str
    period: str
    kind: str


# --- the statistics API's tokens (casework/statistics/tokens.py) -----------------------


@dataclass(frozen=True)
class ApiTokenCreated(DomainEvent):
    """A statistician created an API token (its id only: never the token or its hash)."""

    user_id: str
    token_id: str


@dataclass(frozen=True)
class ApiTokenRevoked(DomainEvent):
    """A statistician revoked an API token."""

    user_id: str
    token_id: str


# --- the demo's synthetic history (scripts/demo_history.py) ------------------------------


@dataclass(frozen=True)
class DemoHistorySeeded(DomainEvent):
    """``make demo`` wrote ``count`` synthetic cases (references SYN-...) received over the
    last ``days`` days directly into the database: their rows have no entries of their
    own, so this one says what was seeded and when."""

    count: int
    days: int


# --- failed background jobs (casework/jobs/failures.py; /admin/jobs/) --------------------


@dataclass(frozen=True)
class FailedJobRetried(DomainEvent):
    """An administrator put a failed job back on its queue (its id and queue only)."""

    user_id: str
    job_id: str
    queue: str


@dataclass(frozen=True)
class FailedJobDiscarded(DomainEvent):
    """An administrator deleted a failed job for good (its id and queue only)."""

    user_id: str
    job_id: str
    queue: str
