"""Casework database models, grouped by domain (``Stage`` is the contract's)."""

from .accounts import Membership, Role, StaffSession, Unit, User
from .audit import AuditCheckpoint, AuditEntry
from .base import Base
from .bridge import BridgeState
from .cases import Assignment, Case, CaseEnvelope, Stage
from .directory import DirectoryExport
from .enums import EscalationKind, LinkKind, Priority, ReasonCode
from .workflow import CaseLabel, CaseLink, Conflict, Escalation, StageChange

__all__ = [
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
    "LinkKind",
    "Membership",
    "Priority",
    "ReasonCode",
    "Role",
    "StaffSession",
    "Stage",
    "StageChange",
    "Unit",
    "User",
]
