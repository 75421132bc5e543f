"""Events about the instance as a whole: the command line, the bridge's runs, scheduled
jobs, the audit log, retention settings, KOF statistics, failed jobs.

Counts, ids and codes of what an administrator, an auditor, a statistician or a
scheduled job did: none names a case (an item a run touched is told by its own case
event, :mod:`casework.events.cases`). Kept apart from the case and account events because
they grow with the instance's tooling, not with the workflow: a new admin page or job adds
its events here.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.unit_of_work import DomainEvent

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


# --- backups (casework/cli_backup.py) ---------------------------------------------------


@dataclass(frozen=True)
class BackupCreated(DomainEvent):
    """``backup create`` wrote a sealed backup (the command line: no person): the sealed
    file's ``size`` and ``sha256`` (which name it, never a word of its content or a key)
    and how many tables, rows and files it holds."""

    command: str
    size: int
    sha256: str
    tables: int
    rows: int
    files: int


@dataclass(frozen=True)
class BackupRestored(DomainEvent):
    """``backup restore`` loaded the backup whose sealed file has this ``size`` and
    ``sha256`` into this instance: the first entry after the backup's own."""

    command: str
    size: int
    sha256: str


# --- commands to intake through the bridge (casework/bridge) --------------------------


@dataclass(frozen=True)
class IntakeCommandsDelivered(DomainEvent):
    """The bridge delivered commands to intake (registered receipts, forgotten
    dialogues): counts only."""

    registered: int
    forgotten: int


# --- deadline reminders (casework/reminders.py) ---------------------------------------


@dataclass(frozen=True)
class RemindersSent(DomainEvent):
    """A reminder run sent ``messages`` e-mails about ``cases`` cases (counts only)."""

    messages: int
    cases: int
    failed: int


# --- retention settings and reviews (casework/retention.py) ---------------------------


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


# --- the audit log (casework/audit) ---------------------------------------------------


@dataclass(frozen=True)
class AuditLogExported(DomainEvent):
    """An auditor exported (a filtered part of) the audit log; ``filtered`` names the
    filters used (never their values: a free-text filter is what someone typed)."""

    user_id: str
    format: str
    filtered: tuple[str, ...]


@dataclass(frozen=True)
class AuditVerificationStarted(DomainEvent):
    """An auditor started a check of the whole audit log (``run``: the run's id)."""

    user_id: str
    run: str


# --- KOF statistics and the statistics API's tokens (casework/statistics) -------------


@dataclass(frozen=True)
class StatisticsReleased(DomainEvent):
    """A statistician published the figures of an ended ``period`` ("2026-Q3", "2026")
    as a release of ``kind`` (quarterly, annual)."""

    user_id: str
    release_id: str
    period: str
    kind: str


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


# --- the demo's synthetic history (scripts/demo_history.py) ---------------------------


@dataclass(frozen=True)
class DemoHistorySeeded(DomainEvent):
    """``make demo`` wrote ``count`` synthetic cases (references SYN-...) received over the
    last ``days`` days directly into the database: their rows have no entries of their
    own, so this one says what was seeded and when."""

    count: int
    days: int


# --- failed background jobs (casework/jobs/failures.py; /admin/jobs/) -----------------


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
