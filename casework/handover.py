"""Bulk handover: when someone leaves or rotates, all their assigned cases go to another.

A unit lead hands over every case assigned to one person in the units the lead leads.
Each case is moved exactly as :func:`casework.assignment.transfer` moves one, in the same
unit of work: all of them, or (on an error) none. The receiver gets a case only if the
tipster did not exclude them and they may read its unit; every other case stays with
its current assignee and is reported, by reference and reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.unit_of_work import emit_on

from .assignment import LeadCase, give_case, hold_case, open_as_lead, take_back, why_not_given
from .case_view import refusal
from .errors import NotPermitted
from .events import CasesHandedOver
from .models import Assignment, Case, Role, User
from .readers import READING_ROLES, ReadersTampered, check_tag
from .services import Casework

# Why a case was not handed over (codes; the page and the CLI say them in words).
# "unreadable": the acting lead cannot open it (the tipster left them out, or they
# declared a conflict); "tampered": its reader list fails its check (nothing is added to
# such a list); the others are casework.assignment.why_not_given's.
SKIP_REASONS = ("excluded", "not-a-reader", "inactive", "key-awaits-approval", "conflict",
                "unreadable", "tampered")


@dataclass(frozen=True)
class Skipped:
    """A case that stayed with its assignee, and why (a code of :data:`SKIP_REASONS`)."""

    reference: str
    case_id: str
    reason: str


@dataclass
class Handover:
    """What a handover did: references handed over, cases skipped with their reasons."""

    handed_over: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _people(session: Session, lead: User, from_id: str, to_id: str) -> tuple[User, User]:
    giver = session.get(User, from_id) if from_id else None
    receiver = session.get(User, to_id) if to_id else None
    if giver is None or receiver is None:
        raise refusal(_l("choose the person who hands over and the one who takes over"))
    if giver.id == receiver.id:
        raise refusal(_l("choose another person to take over the cases"))
    return giver, receiver


def handover_people(session: Session, lead: User) -> tuple[list[User], list[User]]:
    """Whom the handover form offers: people with cases assigned in the lead's units, and
    readers (with a key) of those units. Per-case exclusions are judged at handover."""
    units = lead.units_with(Role.UNIT_LEAD)
    if not units:
        raise NotPermitted()
    assigned = select(Assignment.user_id).join(Case, Case.id == Assignment.case_id) \
        .where(Case.unit_id.in_(units))
    givers = list(session.scalars(select(User).where(User.id.in_(assigned))
                                  .order_by(User.display_name, User.id)))
    people = session.scalars(select(User).where(User.active.is_(True),
                                                User.public_key.is_not(None))
                             .order_by(User.display_name, User.id))
    receivers = [p for p in people if p.units_with(*READING_ROLES) & units]
    return givers, receivers


def _open(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey,
          case: Case) -> LeadCase | str:
    try:
        opened = open_as_lead(casework, session, lead, key, case.id)
    except NotPermitted:
        return "unreadable"
    except ReadersTampered:
        return "tampered"
    return opened


def hand_over(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
              from_id: str, to_id: str) -> Handover:
    """Hand every case assigned to ``from_id`` in ``lead``'s units over to ``to_id``.

    Needs the lead's private key: adding the receiver to each envelope means opening its
    content key. Cases of units the lead does not lead are not touched (nor named).
    """
    units = lead.units_with(Role.UNIT_LEAD)
    if not units or key is None:
        raise NotPermitted()
    giver, receiver = _people(session, lead, from_id, to_id)
    cases = list(session.scalars(
        select(Case).join(Assignment, Assignment.case_id == Case.id)
        .where(Assignment.user_id == giver.id, Case.unit_id.in_(units))
        .order_by(Case.received_on, Case.reference)))
    result = Handover()
    for case in cases:
        opened = _open(casework, session, lead, key, case)
        if isinstance(opened, str):
            result.skipped.append(Skipped(case.reference, case.id, opened))
            continue
        reason = why_not_given(session, case, opened.excluded, receiver)
        if reason is not None:
            # Stays with the giver: a case is never left without its assignee because
            # the receiver may not have it.
            result.skipped.append(Skipped(case.reference, case.id, reason))
            continue
        hold_case(session, case)
        check_tag(case, opened.report_key)
        take_back(session, opened, lead, giver)
        give_case(session, opened, lead, key, receiver)
        result.handed_over.append(case.reference)
    emit_on(session, CasesHandedOver(giver.id, receiver.id, lead.id, len(result.handed_over),
                                     len(result.skipped)))
    return result
