"""A unit lead gives a case to a person, takes it back, or moves it to another person.

The tipster's exclusions (conflict of interest) are recorded only inside the sealed
report, as ``excluded_key_ids``: storing them in a row would tell anyone with the
database, and the excluded person, that a report names them. So every path that offers
or makes an assignment decrypts the report with the lead's key and leaves them out
(assign, transfer, the bulk handover in ``casework.handover``, and the receiving unit's
readers of an escalation in ``casework.escalation``).

Giving a case adds the person's key to every envelope's recipient header but the
identity's; taking it back removes that entry again when the assignment was their only
way in (see :func:`unassign`). Bodies are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.unit_of_work import emit_on

from .accounts import key_awaits_approval
from .case_view import ensure_reader_tag, read_report, readable_case, refusal
from .errors import CaseworkError, NotPermitted
from .events import CaseAssigned, CaseUnassigned
from .models import Assignment, Case, Conflict, Escalation, EscalationKind, Role, User
from .readers import READING_ROLES, check_tag, report_content_key, retag
from .services import Casework

log = logging.getLogger("lykta.casework.assignment")


class CaseBusy(CaseworkError):
    """Another change to the case's readers holds it: nothing was changed."""

    status = 409
    title = _l("The case is being changed")
    explanation = _l("Someone else is changing who reads this case right now. Nothing was "
                     "changed; reload the case and try again.")


def excluded_key_ids(report: dict[str, Any]) -> frozenset[str]:
    """The hex key ids the tipster left out of the report."""
    raw = report.get("excluded_key_ids", [])
    return frozenset(str(k) for k in raw) if isinstance(raw, list) else frozenset()


def _excluded(person: User, excluded: frozenset[str]) -> bool:
    keys = {k for k in (person.public_key, person.approved_public_key) if k is not None}
    return any(crypto.key_id_of(k).hex() in excluded for k in keys)


def _has_conflict(session: Session, case: Case, person: User) -> bool:
    return bool(session.scalar(select(exists().where(Conflict.case_id == case.id,
                                                     Conflict.user_id == person.id))))


def why_not_given(session: Session, case: Case, excluded: frozenset[str], person: User,
                  unit_id: str | None = None) -> str | None:
    """Why ``person`` may not be given ``case`` as a reader of ``unit_id`` (default: the
    case's unit), as a code; None if they may.

    Codes: ``excluded`` (the tipster left them out), ``not-a-reader`` (no reading role in
    the unit, or no key), ``inactive``, ``key-awaits-approval`` (a key one administrator
    alone made must not be opened old cases), ``conflict`` (they declared a conflict of
    interest on the case: the access check refuses them for good).
    """
    if _excluded(person, excluded):
        return "excluded"
    if (unit_id or case.unit_id) not in person.units_with(*READING_ROLES) \
            or person.public_key is None:
        return "not-a-reader"
    if not person.active:
        return "inactive"
    if key_awaits_approval(person):
        return "key-awaits-approval"
    if _has_conflict(session, case, person):
        return "conflict"
    return None


def assignable(session: Session, case: Case, excluded: frozenset[str],
               unit_id: str | None = None) -> list[User]:
    """People who may be given ``case`` (as readers of ``unit_id``, default its own
    unit): readers of the unit with an approved key, not excluded by the tipster, with
    no declared conflict on the case.

    A key that awaits a second administrator's approval is not given cases either: an
    assignment would otherwise open old cases to a key one administrator alone made.
    """
    people = session.scalars(select(User).where(User.active.is_(True),
                                                User.public_key.is_not(None))
                             .order_by(User.display_name, User.id))
    return [p for p in people if why_not_given(session, case, excluded, p, unit_id) is None]


def hold_case(session: Session, case: Case) -> None:
    """Take the case's row for this transaction, then re-read its headers.

    Every change to a case's readers reads the headers, changes them and writes them
    back; two at once would otherwise lose one's entries (a half-changed reader list).
    A no-op UPDATE takes PostgreSQL's row lock and SQLite's write lock, so the second
    waits for the first to commit and then sees what it did; a wait that runs out is a
    409 with nothing changed, never a 500.
    """
    try:
        session.execute(update(Case).where(Case.id == case.id)
                        .values(priority=Case.priority)
                        .execution_options(synchronize_session=False))
    except OperationalError as exc:
        raise CaseBusy() from exc
    session.refresh(case)
    for envelope in case.envelopes:
        session.refresh(envelope)


@dataclass(frozen=True)
class LeadCase:
    """A case opened by a lead of its unit (with the lead's key) and its report."""

    case: Case
    key: crypto.PrivateKey
    report: dict[str, Any]

    @property
    def report_key(self) -> crypto.ContentKey:
        """The report's content key, opened from its header as the case holds it now.

        Not kept from the opening: a rekey that committed while :func:`hold_case` waited
        gave the report a new content key (and tagged the readers under it), which the
        re-read header holds; the old key would fail the tag check as if tampered.
        """
        return report_content_key(self.case, self.key)

    @property
    def excluded(self) -> frozenset[str]:
        """The key ids the tipster left out."""
        return excluded_key_ids(self.report)


def open_as_lead(casework: Casework, session: Session, lead: User,
                 key: crypto.PrivateKey | None, case_id: str) -> LeadCase:
    """The case, if ``lead`` leads its unit and can read it (else :class:`NotPermitted`).

    The reader list's tag is checked here, before anyone changes it: an action must not
    bless a key someone appended to the header with write access to the database alone.
    """
    case = readable_case(session, lead, key, case_id)
    if case.unit_id not in lead.units_with(Role.UNIT_LEAD) or key is None:
        raise NotPermitted()
    content_key = report_content_key(case, key)  # an excluded lead cannot act
    report = read_report(casework, case, content_key)
    ensure_reader_tag(casework, session, case, content_key)
    check_tag(case, content_key)
    return LeadCase(case, key, report)


def _person(session: Session, person_id: str) -> User | None:
    # Ids come from forms: a forged one is just "not found".
    return session.get(User, person_id) if isinstance(person_id, str) and person_id else None


def assignment_choices(casework: Casework, session: Session, lead: User,
                       key: crypto.PrivateKey | None, case_id: str) -> list[User]:
    """Whom ``lead`` may give the case to (for the form): the tipster's exclusions out."""
    opened = open_as_lead(casework, session, lead, key, case_id)
    return assignable(session, opened.case, opened.excluded)


def assignees(session: Session, case: Case) -> list[User]:
    """The people the case is assigned to, by name."""
    ids = select(Assignment.user_id).where(Assignment.case_id == case.id)
    return list(session.scalars(select(User).where(User.id.in_(ids))
                                .order_by(User.display_name, User.id)))


def add_reader(case: Case, key: crypto.PrivateKey, report_key: crypto.ContentKey,
               people: Iterable[User]) -> int:
    """Add each person's key to every envelope ``key`` opens (identities excepted), then
    re-tag the reader list. Returns how many headers changed. The caller has checked the
    tag and that each person may be given the case."""
    new_keys = [crypto.PublicKey(p.public_key) for p in people if p.public_key is not None]
    changed = 0
    for envelope in case.envelopes:
        if envelope.kind == EnvelopeKind.IDENTITY:
            # Never: the identity is in custody (crypto/FORMAT.md). The lead cannot open
            # its outer layer anyway, and an entry there is what a custodian's approval
            # gives (casework.identity); the inner layer, inside the outer body, keeps
            # the readers intake sealed it to. A reader added now requests in vain.
            continue
        try:
            content_key = crypto.open_content_key(envelope.header, key)
        except crypto.UnknownRecipient:
            continue  # e.g. a note sealed before the lead could read the case
        updated = envelope.header
        for new_key in new_keys:
            updated = crypto.add_recipient(updated, content_key, new_key)
        if updated != envelope.header:
            envelope.header, changed = updated, changed + 1
    retag(case, report_key)
    return changed


def _reads_otherwise(session: Session, case: Case, report: dict[str, Any],
                     person: User) -> bool:
    """True if ``person`` reads the case for a reason other than an assignment.

    Intake lists inside the sealed report the readers it sealed the report to: they keep
    their entry. So does a reader of a unit the case was escalated to (the escalation,
    not the assignment, gave them the case). A report without that list (from before
    intake wrote it) cannot tell, and the entry is kept: unassigning then takes the case
    off their list of assigned cases only.
    """
    listed = report.get("recipient_key_ids")
    if not isinstance(listed, list):
        return True
    keys = {k for k in (person.public_key, person.approved_public_key) if k is not None}
    if any(crypto.key_id_of(k).hex() in {str(i) for i in listed} for k in keys):
        return True
    units = person.units_with(*READING_ROLES)
    return bool(session.scalar(select(exists().where(
        Escalation.case_id == case.id,
        Escalation.kind.in_((EscalationKind.UNIT.value, EscalationKind.KOF.value)),
        Escalation.destination.in_(units)))))


def _remove_entries(case: Case, report_key: crypto.ContentKey, person: User) -> int:
    """Remove ``person``'s entries from every envelope of the case; re-tag. Returns how
    many headers changed.

    This stops access through the database from now on. It does not revoke a content key
    the person may already have opened and kept: true revocation needs new content keys
    and re-encrypted bodies, which is what the conflict-of-interest path's rekey does
    (``casework.conflicts``).
    """
    ids = {crypto.key_id_of(k) for k in (person.public_key, person.approved_public_key)
           if k is not None}
    changed = 0
    for envelope in case.envelopes:
        if envelope.kind == EnvelopeKind.IDENTITY and Role.CUSTODIAN in person.roles:
            # Their entry in the identity's outer layer is their custodian's one, not the
            # case's: a custodian keeps it (they still cannot read the inner layer). A
            # reader's entry there is a released request, and goes with the case.
            continue
        header = envelope.header
        for key_id in ids & set(crypto.header_key_ids(header)):
            try:
                header = crypto.remove_recipient(header, key_id)
            except crypto.CryptoError:
                # It would leave the envelope without any recipient: kept, and said so.
                log.warning("an envelope of case %s has no other recipient; entry kept",
                            case.id)
        if header != envelope.header:
            envelope.header, changed = header, changed + 1
    retag(case, report_key)
    return changed


def give_case(session: Session, opened: LeadCase, lead: User, key: crypto.PrivateKey,
          person: User) -> int:
    changed = add_reader(opened.case, key, opened.report_key, [person])
    if session.get(Assignment, (opened.case.id, person.id)) is None:
        session.add(Assignment(case_id=opened.case.id, user_id=person.id,
                               assigned_by=lead.id))
    emit_on(session, CaseAssigned(opened.case.id, person.id, lead.id, changed))
    return changed


def take_back(session: Session, opened: LeadCase, lead: User, person: User) -> int:
    row = session.get(Assignment, (opened.case.id, person.id))
    if row is not None:
        session.delete(row)
    removed = 0
    if not _reads_otherwise(session, opened.case, opened.report, person):
        removed = _remove_entries(opened.case, opened.report_key, person)
    emit_on(session, CaseUnassigned(opened.case.id, person.id, lead.id))
    return removed


def _assignable_person(session: Session, opened: LeadCase, person_id: str) -> User:
    person = _person(session, person_id)
    if person is None or why_not_given(session, opened.case, opened.excluded, person):
        # The same answer for "no such person", "excluded" and "not of the unit": the
        # form never offered them, so only a forged post lands here.
        raise refusal(_l("that person cannot be given this case"))
    return person


def _assigned_person(session: Session, case: Case, person_id: str) -> User:
    person = _person(session, person_id)
    if person is None or session.get(Assignment, (case.id, person.id)) is None:
        raise refusal(_l("that person is not assigned this case"))
    return person


def assign(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
           case_id: str, assignee_id: str) -> int:
    """A unit lead gives a case to a person: their key is added to every envelope.

    Only the recipient headers change (a sealed content key per envelope); the bodies are
    not touched. Identities stay with the custodians. Returns how many envelopes changed.
    A person the tipster excluded is refused here too, whatever the form offered.
    """
    opened = open_as_lead(casework, session, lead, key, case_id)
    assert key is not None  # noqa: S101 (open_as_lead refuses a missing key)
    person = _assignable_person(session, opened, assignee_id)
    hold_case(session, opened.case)
    check_tag(opened.case, opened.report_key)
    return give_case(session, opened, lead, key, person)


def unassign(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
             case_id: str, person_id: str) -> int:
    """A lead of the case's unit takes the case back from a person.

    The assignment row goes. If the assignment was their only way in (they were not
    among the readers intake sealed the report to, and read in no unit the case was
    escalated to), their entry goes from every envelope too and the reader list is
    re-tagged: the access check and the inbox then refuse them. Returns how many headers
    changed (0 when they keep reading the case as one of its original readers).
    """
    opened = open_as_lead(casework, session, lead, key, case_id)
    person = _assigned_person(session, opened.case, person_id)
    hold_case(session, opened.case)
    check_tag(opened.case, opened.report_key)
    return take_back(session, opened, lead, person)


def transfer(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
             case_id: str, from_id: str, to_id: str) -> int:
    """Move a case from one assigned person to another, in one unit of work.

    Both are checked before anything changes: ``from_id`` must be assigned the case, and
    ``to_id`` may be given it (never one the tipster excluded). Returns how many headers
    the new person was added to.
    """
    opened = open_as_lead(casework, session, lead, key, case_id)
    assert key is not None  # noqa: S101 (open_as_lead refuses a missing key)
    giver = _assigned_person(session, opened.case, from_id)
    receiver = _assignable_person(session, opened, to_id)
    if giver.id == receiver.id:
        raise refusal(_l("choose another person to give the case to"))
    hold_case(session, opened.case)
    check_tag(opened.case, opened.report_key)
    take_back(session, opened, lead, giver)
    return give_case(session, opened, lead, key, receiver)
