"""Escalation inside Lykta (to another unit, to KOF) and referral to an external authority.

Escalating widens who reads a case: a lead of the case's unit, holding its content keys,
adds the receiving unit's readers as recipients of every envelope but the identity (the
bodies are not touched), re-tags the reader list, and records an :class:`Escalation`
row. The tipster's exclusions still hold: a reader of the receiving unit the tipster left
out is not added. From then on the access check (``case_view.readable_case``) lets that
unit's readers open the case, and its readers' inboxes list it (``case_readers``).

A referral sends nothing anywhere: it records that the case was referred (destination =
an authority code from the configured list, ``referral_authorities``, and the date) for
statistics, and tells the tipster in plain language which authority it went to.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import Stage, StatusUpdate
from common.unit_of_work import emit_on

from .assignment import add_reader, assignable, hold_case, open_as_lead
from .case_view import refusal
from .config import ReferralAuthority
from .events import CaseEscalated, CaseReferred
from .models import Case, Escalation, EscalationKind, ReasonCode, Role, Unit, User
from .readers import check_tag, reader_keys
from .reasons import seal_reason, tell_tipster
from .services import Casework

# The reason codes an escalation or a referral may carry (ReasonCode's own section).
REASONS = (ReasonCode.SERIOUSNESS, ReasonCode.COMPETENCE, ReasonCode.CONFLICT_IN_UNIT,
           ReasonCode.CRIMINAL_SUSPICION, ReasonCode.OTHER)
KOF = "kof"  # the unit id of KOF: an escalation there is of kind "kof"
INSIDE = (EscalationKind.UNIT.value, EscalationKind.KOF.value)


@dataclass(frozen=True)
class EscalationChoices:
    """What the escalation and referral forms offer for one case."""

    units: list[Unit]
    authorities: list[ReferralAuthority]


def _reason_code(code: str) -> ReasonCode:
    try:
        reason = ReasonCode(code)
    except ValueError:
        reason = None
    if reason not in REASONS:
        raise refusal(_l("choose a reason from the list"))
    assert reason is not None  # noqa: S101 (checked just above)
    return reason


def _sent_to(session: Session, case: Case, kinds: tuple[str, ...]) -> set[str]:
    return set(session.scalars(select(Escalation.destination).where(
        Escalation.case_id == case.id, Escalation.kind.in_(kinds))))


def escalation_choices(session: Session, config_authorities: tuple[ReferralAuthority, ...],
                       case: Case) -> EscalationChoices:
    """Units the case may still be escalated to (not its own, not one it went to) and the
    authorities it has not been referred to."""
    inside = _sent_to(session, case, INSIDE)
    referred = _sent_to(session, case, (EscalationKind.REFERRAL.value,))
    units = [u for u in session.scalars(select(Unit).order_by(Unit.id))
             if u.id != case.unit_id and u.id not in inside]
    return EscalationChoices(units, [a for a in config_authorities if a.code not in referred])


def escalations(session: Session, case: Case) -> list[Escalation]:
    """The case's escalations and referrals, oldest first."""
    return list(session.scalars(select(Escalation).where(Escalation.case_id == case.id)
                                .order_by(Escalation.at, Escalation.id)))


def escalate(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
             case_id: str, unit_id: str, reason_code: str, reason_text: str) -> int:
    """A lead of the case's unit escalates it to ``unit_id`` (another unit, or KOF).

    The receiving unit's readers (reviewers and leads, active, with an approved key, not
    excluded by the tipster, without a declared conflict on the case) become recipients
    of every envelope but the identity (in custody: its inner layer keeps intake's
    readers, and an entry in its outer layer is a custodian's release). Refused (4xx,
    nothing changed): the case's own unit, a unit it was already escalated to, an unknown
    unit, an unknown reason code, a unit with no one who may read the case. Returns how
    many readers were added.
    """
    opened = open_as_lead(casework, session, user, key, case_id)
    assert key is not None  # noqa: S101 (open_as_lead refuses a missing key)
    case = opened.case
    reason = _reason_code(reason_code)
    unit = session.get(Unit, unit_id) if isinstance(unit_id, str) and unit_id else None
    if unit is None:
        raise refusal(_l("choose a unit from the list"))
    if unit.id == case.unit_id:
        raise refusal(_l("the case is already in that unit"))
    hold_case(session, case)  # from here, a second escalation waits for this one
    if unit.id in _sent_to(session, case, INSIDE):
        raise refusal(_l("the case was already escalated to that unit"))
    receivers = assignable(session, case, opened.excluded, unit_id=unit.id)
    if not receivers:
        raise refusal(_l("no one in that unit may read this case"))
    check_tag(case, opened.report_key)
    already = _report_key_ids(case)
    before = {p.id for p in receivers if p.public_key is not None
              and crypto.key_id_of(p.public_key) in already}
    add_reader(case, key, opened.report_key, receivers)
    readers = reader_keys(session, casework.config, case, opened.report_key)
    kind = EscalationKind.KOF if unit.id == KOF else EscalationKind.UNIT
    # Sealed after the new readers were added: the receiving unit reads why it got it.
    reason_id = seal_reason(casework, session, case, author_id=user.id, readers=readers,
                            text=reason_text)
    session.add(Escalation(case_id=case.id, kind=kind.value, destination=unit.id,
                           reason_code=reason.value, reason_envelope_id=reason_id,
                           actor_id=user.id))
    added = len([p for p in receivers if p.id not in before])
    emit_on(session, CaseEscalated(case.id, user.id, kind.value, unit.id, reason.value,
                                   added, reason_id))
    return added


def _report_key_ids(case: Case) -> set[bytes]:
    report = next((e for e in case.envelopes if e.kind == "report"), None)
    return set(crypto.header_key_ids(report.header)) if report is not None else set()


def refer(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
          case_id: str, authority_code: str, reason_code: str, reason_text: str) -> str:
    """A lead of the case's unit records a referral to an external authority.

    The authority must be in the configured list; a case is referred to each authority
    once. The row keeps the code and the date; the reason's text is sealed to the
    readers; the tipster is told in plain language (a :class:`StatusUpdate` naming the
    authority, in both languages). Returns the status envelope's id.
    """
    opened = open_as_lead(casework, session, user, key, case_id)
    case = opened.case
    reason = _reason_code(reason_code)
    authority = casework.config.referral_authority(authority_code) \
        if isinstance(authority_code, str) else None
    if authority is None:
        raise refusal(_l("choose an authority from the list"))
    hold_case(session, case)
    if authority.code in _sent_to(session, case, (EscalationKind.REFERRAL.value,)):
        raise refusal(_l("the case was already referred to that authority"))
    readers = reader_keys(session, casework.config, case, opened.report_key)
    reason_id = seal_reason(casework, session, case, author_id=user.id, readers=readers,
                            text=reason_text)
    try:
        stage = Stage(case.stage)
    except ValueError:
        stage = Stage.RECEIVED
    status_id = tell_tipster(casework, session, case, readers=readers, update=StatusUpdate(
        stage=stage, referred_to=authority.code,
        referred_to_name={"sv": authority.name_sv, "en": authority.name_en}))
    session.add(Escalation(case_id=case.id, kind=EscalationKind.REFERRAL.value,
                           destination=authority.code, reason_code=reason.value,
                           reason_envelope_id=reason_id, actor_id=user.id))
    emit_on(session, CaseReferred(case.id, user.id, authority.code, reason.value,
                                  reason_id, status_id))
    return status_id


def may_handle(user: User, case: Case) -> bool:
    """True if ``user`` leads the case's unit (who is offered these actions)."""
    return case.unit_id in user.units_with(Role.UNIT_LEAD)
