"""Casework database models, grouped by domain (``Stage`` is the contract's)."""

from .accounts import Membership, Role, StaffSession, Unit, User
from .base import Base
from .bridge import BridgeState
from .cases import Assignment, Case, CaseEnvelope, Stage
from .directory import DirectoryExport

__all__ = [
    "Assignment",
    "Base",
    "BridgeState",
    "Case",
    "CaseEnvelope",
    "DirectoryExport",
    "Membership",
    "Role",
    "StaffSession",
    "Stage",
    "Unit",
    "User",
]
