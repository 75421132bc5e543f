"""Casework database models, grouped by domain (``Stage`` is the contract's)."""

from .accounts import Membership, Role, StaffSession, Unit, User
from .audit import AuditCheckpoint, AuditEntry
from .base import Base
from .bridge import BridgeState
from .cases import Assignment, Case, CaseEnvelope, Stage
from .compliance import (
    FeedbackExtension,
    IdentityRequest,
    IntakeCommand,
    LegalHold,
    OralReport,
    ReminderSent,
)
from .directory import DirectoryExport
from .enums import (
    EscalationKind,
    ExtensionReasonCode,
    HoldReasonCode,
    IdentityReasonCode,
    IdentityRequestStatus,
    IntakeCommandKind,
    LinkKind,
    MinutesStatus,
    OralChannel,
    Priority,
    ReasonCode,
    ReleaseKind,
    ReminderKind,
    ReporterNotice,
)
from .statistics import ApiToken, StatisticsRelease
from .workflow import CaseLabel, CaseLink, Conflict, Escalation, StageChange

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditCheckpoint",
    "AuditEntry",
    "Base",
    "BridgeState",
    "Case",
    "CaseEnvelope",
    "CaseLabel",
    "CaseLink",
    "Conflict",
    "DirectoryExport",
    "Escalation",
    "EscalationKind",
    "ExtensionReasonCode",
    "FeedbackExtension",
    "HoldReasonCode",
    "IdentityReasonCode",
    "IdentityRequest",
    "IdentityRequestStatus",
    "IntakeCommand",
    "IntakeCommandKind",
    "LegalHold",
    "LinkKind",
    "Membership",
    "MinutesStatus",
    "OralChannel",
    "OralReport",
    "Priority",
    "ReasonCode",
    "ReleaseKind",
    "ReminderKind",
    "ReminderSent",
    "ReporterNotice",
    "Role",
    "StaffSession",
    "Stage",
    "StageChange",
    "StatisticsRelease",
    "Unit",
    "User",
]
