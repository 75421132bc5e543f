"""What the identity requests look like to each side (casework.identity decides them):
the custodians' queue, and a reader's own requests on a case.

Each reason is decrypted with the key of the person looking, when it was sealed to them
(a custodian enrolled after a request was filed cannot read its reason; they see the
code). No reporter's name is ever read here: only ``read_identity`` opens the identity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto

from .errors import NotPermitted
from .identity import identity_envelope, reads_case
from .models import (
    Case,
    CaseEnvelope,
    IdentityRequest,
    IdentityRequestStatus,
    Role,
    User,
)
from .reasons import read_reason
from .services import Casework

# The queue shows the newest requests first, at most this many (a custodian's work list,
# not an archive: the audit log keeps every decision).
MAX_QUEUE = 200


@dataclass(frozen=True)
class RequestRow:
    """One identity request, as the person looking may see it."""

    id: str
    case_id: str
    reference: str
    requester: str
    requested_at: dt.datetime
    status: str
    reason_code: str
    reason: str | None  # None: not sealed to the person looking
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_code: str | None
    decision: str | None
    notice: str | None
    notice_delivered: bool
    first_read_at: dt.datetime | None
    # For a custodian: whether they may decide it (not their own, not a case they read).
    may_decide: bool = False


def _text(casework: Casework, session: Session, envelope_id: str | None,
          key: crypto.PrivateKey | None) -> str | None:
    if envelope_id is None:
        return None
    envelope = session.get(CaseEnvelope, envelope_id)
    return read_reason(casework, envelope, key) if envelope is not None else None


def _rows(casework: Casework, session: Session, key: crypto.PrivateKey | None,
          requests: list[IdentityRequest], viewer: User | None) -> list[RequestRow]:
    people = {r.requester_id for r in requests} | {r.decided_by for r in requests
                                                    if r.decided_by}
    names = {i: n for i, n in session.execute(select(User.id, User.display_name)
                                              .where(User.id.in_(people)))} if people else {}
    rows = []
    for request in requests:
        case = session.get(Case, request.case_id)
        if case is None:
            continue
        notice = session.get(CaseEnvelope, request.notice_envelope_id) \
            if request.notice_envelope_id else None
        may_decide = viewer is not None \
            and request.status == IdentityRequestStatus.PENDING.value \
            and request.requester_id != viewer.id and not reads_case(session, viewer, case)
        rows.append(RequestRow(
            id=request.id, case_id=case.id, reference=case.reference,
            requester=names.get(request.requester_id, "?"),
            requested_at=request.requested_at, status=request.status,
            reason_code=request.reason_code,
            reason=_text(casework, session, request.reason_envelope_id, key),
            decided_by=names.get(request.decided_by) if request.decided_by else None,
            decided_at=request.decided_at, decision_code=request.decision_code,
            decision=_text(casework, session, request.decision_envelope_id, key),
            notice=request.notice,
            notice_delivered=notice is not None and notice.delivered,
            first_read_at=request.first_read_at, may_decide=may_decide))
    return rows


def custodian_queue(casework: Casework, session: Session, user: User,
                    key: crypto.PrivateKey | None) -> tuple[list[RequestRow],
                                                            list[RequestRow]]:
    """(pending, decided) requests for a custodian, newest first."""
    if Role.CUSTODIAN not in user.roles:
        raise NotPermitted()
    requests = list(session.scalars(select(IdentityRequest)
                                    .order_by(IdentityRequest.requested_at.desc(),
                                              IdentityRequest.id)
                                    .limit(MAX_QUEUE)))
    rows = _rows(casework, session, key, requests, user)
    return ([r for r in rows if r.status == IdentityRequestStatus.PENDING.value],
            [r for r in rows if r.status != IdentityRequestStatus.PENDING.value])


def own_requests(casework: Casework, session: Session, user: User,
                 key: crypto.PrivateKey | None, case: Case) -> list[RequestRow]:
    """The requests ``user`` filed on ``case``, newest first (never anyone else's)."""
    requests = list(session.scalars(select(IdentityRequest).where(
        IdentityRequest.case_id == case.id, IdentityRequest.requester_id == user.id)
        .order_by(IdentityRequest.requested_at.desc(), IdentityRequest.id)))
    return _rows(casework, session, key, requests, None)


def custodians_exist(session: Session) -> bool:
    """True if any active person holds the custodian role with a published key."""
    return any(Role.CUSTODIAN in p.roles for p in session.scalars(
        select(User).where(User.active.is_(True), User.approved_public_key.is_not(None))))


def has_identity(case: Case) -> bool:
    """True for a confidential report (its identity envelope came with it)."""
    return identity_envelope(case) is not None
