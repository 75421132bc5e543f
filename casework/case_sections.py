"""The sections of the case page beyond the report and dialogue, built in one place.

``cases.case_page`` opens the case (the access check, the decryption) once and hands the
opened :class:`~casework.case_view.CaseView` to each builder here; each returns what its
template (``templates/case/_<name>.html``) shows, or None to show nothing. A builder
offers only the actions the signed-in person may take: the domain functions check again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

import crypto

from .case_view import CaseView
from .models import User
from .services import Casework

SectionBuilder = Callable[[Casework, Session, User, crypto.PrivateKey | None, CaseView], Any]


def _builders() -> dict[str, SectionBuilder]:
    # Imported here: each section's module imports the case page's own modules.
    from .conflict_forms import build_section as conflict_section
    from .deadline_forms import build_section as deadlines_section
    from .handling_forms import build_section as handling_section
    from .identity_forms import build_section as identity_section
    from .oral_forms import build_section as oral_section
    from .retention_forms import build_section as retention_section
    from .timeline import case_timeline
    from .triage import triage_section
    from .workflow import workflow_section
    return {"conflict": conflict_section, "deadlines": deadlines_section,
            "handling": handling_section, "identity": identity_section,
            "oral": oral_section, "retention": retention_section,
            "timeline": case_timeline, "triage": triage_section, "workflow": workflow_section}


def build_sections(casework: Casework, session: Session, user: User,
                   key: crypto.PrivateKey | None, view: CaseView) -> dict[str, Any]:
    """Every section's data for the case page, by name."""
    return {name: build(casework, session, user, key, view)
            for name, build in _builders().items()}
