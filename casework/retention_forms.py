"""The case page's retention section: what it shows, and the forms it offers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

import crypto

from .case_view import CaseView
from .models import User
from .services import Casework


def build_section(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> Any:
    """The section's data for the case page, or None to show nothing."""
    return None
