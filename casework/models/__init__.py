"""Casework database models, grouped by domain."""

from .accounts import Membership, Role, StaffSession, Unit, User
from .base import Base
from .directory import DirectoryExport

__all__ = ["Base", "DirectoryExport", "Membership", "Role", "StaffSession", "Unit", "User"]
