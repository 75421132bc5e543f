"""A unit lead gives a case to a person, never to one the tipster excluded.

The tipster's exclusions (conflict of interest) are recorded only inside the sealed
report, as ``excluded_key_ids``: storing them in a row would tell anyone with the
database, and the excluded person, that a report names them. So every path that offers
or makes an assignment decrypts the report with the lead's key and leaves them out.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.unit_of_work import emit_on

from .accounts import key_awaits_approval
from .case_view import ensure_reader_tag, read_report, readable_case, refusal
from .errors import NotPermitted
from .events import CaseAssigned
from .models import Assignment, Case, Role, User
from .readers import READING_ROLES, reader_keys, report_content_key, retag
from .services import Casework


def excluded_key_ids(report: dict[str, Any]) -> frozenset[str]:
    """The hex key ids the tipster left out of the report."""
    raw = report.get("excluded_key_ids", [])
    return frozenset(str(k) for k in raw) if isinstance(raw, list) else frozenset()


def _excluded(person: User, excluded: frozenset[str]) -> bool:
    return person.public_key is not None and \
        crypto.key_id_of(person.public_key).hex() in excluded


def assignable(session: Session, case: Case, excluded: frozenset[str]) -> list[User]:
    """People who may be given ``case``: readers of its unit with an approved key, not
    excluded by the tipster.

    A key that awaits a second administrator's approval is not given cases either: an
    assignment would otherwise open old cases to a key one administrator alone made.
    """
    people = session.scalars(select(User).where(User.active.is_(True),
                                                User.public_key.is_not(None)))
    return [p for p in people
            if case.unit_id in p.units_with(*READING_ROLES) and not _excluded(p, excluded)
            and not key_awaits_approval(p)]


def _lead_report(casework: Casework, session: Session, lead: User,
                 key: crypto.PrivateKey | None,
                 case_id: str) -> tuple[Case, crypto.ContentKey, dict[str, Any]]:
    case = readable_case(session, lead, key, case_id)
    if case.unit_id not in lead.units_with(Role.UNIT_LEAD) or key is None:
        raise NotPermitted()
    content_key = report_content_key(case, key)  # an excluded lead cannot assign
    return case, content_key, read_report(casework, case, content_key)


def assignment_choices(casework: Casework, session: Session, lead: User,
                       key: crypto.PrivateKey | None, case_id: str) -> list[User]:
    """Whom ``lead`` may give the case to (for the form): the tipster's exclusions out."""
    case, _content_key, report = _lead_report(casework, session, lead, key, case_id)
    return assignable(session, case, excluded_key_ids(report))


def assign(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
           case_id: str, assignee_id: str) -> int:
    """A unit lead gives a case to a person: their key is added to every envelope.

    Only the recipient headers change (a sealed content key per envelope); the bodies are
    not touched. Identities stay with the custodians. Returns how many envelopes changed.
    A person the tipster excluded is refused here too, whatever the form offered.
    """
    case, report_key, report = _lead_report(casework, session, lead, key, case_id)
    assert key is not None  # noqa: S101 (_lead_report refuses a missing key)
    excluded = excluded_key_ids(report)
    assignee = next((p for p in assignable(session, case, excluded) if p.id == assignee_id),
                    None)
    if assignee is None or assignee.public_key is None:
        raise refusal(_l("that person cannot be given this case"))
    # The reader list must be authentic before it is extended and re-tagged: otherwise
    # an assignment would bless a key someone appended to the header.
    ensure_reader_tag(casework, session, case, report_key)
    reader_keys(session, casework.config, case, report_key)
    new_key = crypto.PublicKey(assignee.public_key)
    changed = 0
    for envelope in case.envelopes:
        if envelope.kind == EnvelopeKind.IDENTITY:
            continue
        try:
            content_key = crypto.open_content_key(envelope.header, key)
        except crypto.UnknownRecipient:
            continue  # e.g. a note sealed before the lead could read the case
        updated = crypto.add_recipient(envelope.header, content_key, new_key)
        if updated != envelope.header:
            envelope.header, changed = updated, changed + 1
    retag(case, report_key)
    if session.get(Assignment, (case.id, assignee.id)) is None:
        session.add(Assignment(case_id=case.id, user_id=assignee.id, assigned_by=lead.id))
    emit_on(session, CaseAssigned(case.id, assignee.id, lead.id, changed))
    return changed
