"""Casework database models, grouped by domain."""

from .accounts import Membership, Role, StaffSession, Unit, User
from .base import Base
from .cases import Assignment, Case, CaseEnvelope, Stage
from .directory import DirectoryExport

__all__ = [
    "Assignment",
    "Base",
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
