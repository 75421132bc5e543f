"""What a declared conflict of interest does to identity requests.

* The declarer's pending requests are withdrawn with the declaration: a reader who may no
  longer open the case must not be released its reporter's identity later.
* The envelopes of identity requests (the requester's reason, the custodian's decision,
  a withheld notice's reason) are sealed to the custodians and the requester, not to the
  case's readers. The reader who rekeys a case after a conflict cannot open them, so the
  rekey leaves them alone, as it leaves the identity itself (the custodians' layer): they
  hold no report content, and the requester's entry in them gives nothing of the case.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.unit_of_work import emit_on

from .events import IdentityRequestWithdrawn
from .models import IdentityRequest, IdentityRequestStatus, ReporterNotice


def custody_envelope_ids(session: Session, case_id: str) -> set[str]:
    """Ids of the case's envelopes sealed to custodians and a requester (not readers)."""
    found: set[str] = set()
    for request in session.scalars(select(IdentityRequest)
                                   .where(IdentityRequest.case_id == case_id)):
        found.update(i for i in (request.reason_envelope_id, request.decision_envelope_id)
                     if i is not None)
        if request.notice == ReporterNotice.WITHHELD and request.notice_envelope_id:
            found.add(request.notice_envelope_id)
    return found


def withdraw_for_conflict(session: Session, case_id: str, user_id: str) -> int:
    """Withdraw ``user_id``'s pending requests on the case (the conflict's unit of work)."""
    pending = list(session.scalars(
        select(IdentityRequest.id).where(
            IdentityRequest.case_id == case_id, IdentityRequest.requester_id == user_id,
            IdentityRequest.status == IdentityRequestStatus.PENDING.value)))
    for request_id in pending:
        # Conditional, like a custodian's decision: a decision committed first wins.
        claimed = session.connection().execute(
            update(IdentityRequest)
            .where(IdentityRequest.id == request_id,
                   IdentityRequest.status == IdentityRequestStatus.PENDING.value)
            .values(status=IdentityRequestStatus.WITHDRAWN.value)).rowcount
        if claimed:
            emit_on(session, IdentityRequestWithdrawn(case_id, user_id, request_id))
    return len(pending)
