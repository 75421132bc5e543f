"""What the unit lead and the case page show of declared conflicts: ids, names, dates.

Never a reason (it is sealed) and never content: a lead reassigns a case from here even
when they are not one of its readers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotPermitted
from .models import Case, Conflict, Role, User

# The lead's list shows at most this many (pending first, then newest first).
INDEX_LIMIT = 500


@dataclass(frozen=True)
class ConflictRow:
    """One declared conflict, as the lead's list and the case page show it."""

    case_id: str
    reference: str
    declared_by: str
    declared_at: dt.datetime
    rekeyed_at: dt.datetime | None
    rekeyed_by: str | None


def _rows(session: Session, query: Any) -> list[ConflictRow]:
    names: dict[str, str] = {}

    def name(user_id: str | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in names:
            person = session.get(User, user_id)
            names[user_id] = person.display_name if person is not None else "?"
        return names[user_id]

    return [ConflictRow(case.id, case.reference, name(conflict.user_id) or "?",
                        conflict.declared_at, conflict.rekeyed_at, name(conflict.rekeyed_by))
            for conflict, case in session.execute(query).all()]


def flagged_cases(session: Session, lead: User) -> list[ConflictRow]:
    """The declared conflicts on the cases of ``lead``'s units: pending first, newest first.

    Ids, names and dates only (never a reason: it is sealed): a lead reassigns a case
    from here even when they are not one of its readers.
    """
    units = lead.units_with(Role.UNIT_LEAD)
    if not units:
        raise NotPermitted()
    query = (select(Conflict, Case).join(Case, Conflict.case_id == Case.id)
             .where(Case.unit_id.in_(units))
             .order_by(Conflict.rekeyed_at.is_not(None), Conflict.declared_at.desc(),
                       Conflict.id)
             .limit(INDEX_LIMIT))
    return _rows(session, query)


def case_conflicts(session: Session, case_id: str) -> list[ConflictRow]:
    """The conflicts declared on one case, oldest first (for the case page)."""
    query = (select(Conflict, Case).join(Case, Conflict.case_id == Case.id)
             .where(Conflict.case_id == case_id).order_by(Conflict.declared_at, Conflict.id))
    return _rows(session, query)
