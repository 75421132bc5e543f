"""Confidential identities under four eyes: a reader asks, a custodian decides, the
requester reads (EU Directive 2019/1937 Art. 16).

The identity envelope is nested (``crypto.custody``): its inner layer is sealed to the
case's readers as intake knew them, its outer layer to the custodians (both with the
escrow key). Neither a reader alone nor a custodian alone opens it. A custodian's
approval is cryptographic: :func:`crypto.release` adds the requester to the outer header,
with the custodian's own key; until then the requester's key, even with the whole
database, opens nothing. Four eyes means two people: a custodian never decides their
own request, nor a request on a case they read themselves.

Before the identity is disclosed, the reporter is told in their dialogue (a notice with
the custodian's reasons), unless the custodian records why telling would jeopardise the
investigation (Art. 16(3)); the requester reads only once that notice has reached intake.
Nothing is ever granted automatically: with no custodian, requests wait.

Every free text (the request's reason, the decision's, the withheld notice's) is sealed
to the custodians and the requester (and escrow), never to the case's other readers;
rows and events keep ids and codes only. The reading side (the custodians' queue, the
case page's section) is ``casework.identity_queue``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

import crypto
from common.contract import Author, DialogueMessage, EnvelopeKind
from common.unit_of_work import emit_on

from .case_view import MAX_SHOWN_BYTES, readable_case
from .errors import InvalidInput, NotPermitted
from .events import (
    IdentityRead,
    IdentityRequestApproved,
    IdentityRequested,
    IdentityRequestRefused,
    IdentityRequestWithdrawn,
)
from .models import (
    Case,
    CaseEnvelope,
    Conflict,
    IdentityReasonCode,
    IdentityRequest,
    IdentityRequestStatus,
    ReporterNotice,
    Role,
    User,
)
from .readers import READING_ROLES, case_readers, report_envelope
from .reasons import MAX_REASON
from .sealing import seal_item
from .services import Casework

MAX_TEXT = MAX_REASON
# Why a reader may ask, and the codes a custodian approves or refuses with.
REQUEST_CODES = (IdentityReasonCode.INVESTIGATION_NEEDS, IdentityReasonCode.PROTECTION,
                 IdentityReasonCode.LEGAL_PROCEEDINGS, IdentityReasonCode.OTHER)
APPROVE_CODES = REQUEST_CODES
REFUSE_CODES = (IdentityReasonCode.NOT_NECESSARY, IdentityReasonCode.INSUFFICIENT_REASON,
                IdentityReasonCode.OTHER)


class IdentityConflict(InvalidInput):
    """The request's state (or the envelope's) does not allow this now: nothing changed."""

    status = 409


class FourEyes(InvalidInput):
    """Four eyes means two people: this custodian may not decide this request."""

    status = 403


@dataclass(frozen=True)
class IdentityShown:
    """An identity opened for its approved requester (held in memory for one page)."""

    request_id: str
    case_id: str
    reference: str
    name: str
    contact: str


# --- shared checks ---------------------------------------------------------------------


def identity_envelope(case: Case) -> CaseEnvelope | None:
    """The case's identity envelope (a confidential report has one; anonymous none)."""
    return next((e for e in case.envelopes if e.kind == EnvelopeKind.IDENTITY), None)


def key_ids_of(user: User) -> set[bytes]:
    """Every key id a person may appear under: their key and their published one."""
    return {crypto.key_id_of(raw) for raw in (user.public_key, user.approved_public_key)
            if raw is not None}


def custodian_keys(session: Session, casework: Casework) -> list[crypto.PublicKey]:
    """The published keys of the active custodians, as the recipient directory lists them
    (the approved key: one made after a password reset waits for a second administrator),
    and the escrow key."""
    keys = [crypto.PublicKey(p.approved_public_key) for p in session.scalars(
        select(User).where(User.active.is_(True), User.approved_public_key.is_not(None)))
        if Role.CUSTODIAN in p.roles and p.approved_public_key is not None]
    if casework.config.escrow_public_key is not None:
        keys.append(crypto.PublicKey(casework.config.escrow_public_key))
    return keys


def reads_case(session: Session, user: User, case: Case) -> bool:
    """True if ``user`` is, or could become by their unit, a reader of ``case``: their key
    in the report's header, a row in its reader list, or a reading role in its unit."""
    report = report_envelope(case)
    in_header = report is not None and bool(
        key_ids_of(user) & set(crypto.header_key_ids(report.header)))
    listed = any(p.id == user.id for p in case_readers(session, case))
    return in_header or listed or case.unit_id in user.units_with(*READING_ROLES)


def _text(text: str, what: LazyString) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(_l("%(what)s needs words, not only a code", what=what))
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(_l("%(what)s needs at most %(max)s characters", what=what,
                              max=MAX_TEXT))
    return cleaned


def _code(code: str, allowed: Sequence[IdentityReasonCode]) -> str:
    if code not in {c.value for c in allowed}:
        raise InvalidInput(_l("choose one of the listed reasons"))
    return code


def _seal_text(casework: Casework, session: Session, case: Case, *, author: User,
               requester: User, text: str) -> str:
    """Seal a reason to the custodians and the requester (and escrow), kind ``reason``.

    Never to the case's other readers: why someone wants a reporter's name, and why a
    custodian decided as they did, is between the two sides of the four eyes.
    """
    recipients = custodian_keys(session, casework)
    if requester.public_key is not None:
        recipients.append(crypto.PublicKey(requester.public_key))
    return seal_item(casework, session, case, kind=EnvelopeKind.REASON,
                     document={"text": text}, recipients=recipients, author_id=author.id,
                     for_tipster=False)


def _claim(session: Session, request: IdentityRequest, status: IdentityRequestStatus,
           **values: object) -> None:
    """Move a pending request on, or refuse with 409 if someone else moved it first.

    A conditional update (``WHERE status = 'pending'``): of two custodians deciding at
    once, or a decision racing a withdrawal, exactly one wins; the other changes nothing.
    """
    moved = session.execute(
        update(IdentityRequest)
        .where(IdentityRequest.id == request.id,
               IdentityRequest.status == IdentityRequestStatus.PENDING.value)
        .values(status=status.value, **values)
        .execution_options(synchronize_session=False))
    if getattr(moved, "rowcount", 0) != 1:
        raise IdentityConflict(_l("this request was already decided or withdrawn"))
    session.refresh(request)


def _custody(casework: Casework, envelope: CaseEnvelope) -> crypto.Envelope:
    if envelope.body_size > MAX_SHOWN_BYTES:
        # An identity is a name and a way to reach someone; this was not sealed by intake.
        raise IdentityConflict(_l("the sealed identity is larger than any identity; tell "
                                  "the security officer"))
    with casework.store.open(envelope.body_name) as body:
        return crypto.Envelope(envelope.header, body.read())


# --- the reader's side -----------------------------------------------------------------


def request_identity(casework: Casework, session: Session, user: User,
                     key: crypto.PrivateKey | None, case_id: str, reason_code: str,
                     reason_text: str) -> str:
    """A reader of the case asks for the reporter's identity; the request's id.

    One pending request per person and case. The reason's words are sealed to the
    custodians and the requester; the row and the event keep the code.
    """
    case = readable_case(session, user, key, case_id)
    if identity_envelope(case) is None:
        raise IdentityConflict(_l("this report is anonymous: there is no identity to "
                                  "request"))
    code = _code(reason_code, REQUEST_CODES)
    text = _text(reason_text, _l("the reason"))
    if session.scalar(select(exists().where(
            IdentityRequest.case_id == case.id, IdentityRequest.requester_id == user.id,
            IdentityRequest.status == IdentityRequestStatus.PENDING.value))):
        raise IdentityConflict(_l("you already have a request waiting on this case"))
    request = IdentityRequest(case_id=case.id, requester_id=user.id, reason_code=code,
                              status=IdentityRequestStatus.PENDING.value)
    request.reason_envelope_id = _seal_text(casework, session, case, author=user,
                                            requester=user, text=text)
    session.add(request)
    session.flush()
    emit_on(session, IdentityRequested(case.id, user.id, request.id, code))
    return request.id


def _own_request(session: Session, user: User, request_id: str) -> IdentityRequest:
    request = session.get(IdentityRequest, request_id)
    # The same answer for "no such request" and "someone else's": ids reveal nothing.
    if request is None or request.requester_id != user.id:
        raise NotPermitted()
    return request


def withdraw_request(casework: Casework, session: Session, user: User,
                     key: crypto.PrivateKey | None, request_id: str) -> str:
    """The requester takes back a pending request; the case id."""
    del casework, key  # nothing is sealed or opened: the request only changes state
    request = _own_request(session, user, request_id)
    _claim(session, request, IdentityRequestStatus.WITHDRAWN)
    emit_on(session, IdentityRequestWithdrawn(request.case_id, user.id, request.id))
    return request.case_id


# --- the custodian's side --------------------------------------------------------------


def _may_decide(session: Session, user: User, key: crypto.PrivateKey | None,
                request: IdentityRequest, case: Case) -> crypto.PrivateKey:
    if key is None or Role.CUSTODIAN not in user.roles or not user.active:
        raise NotPermitted()
    if request.requester_id == user.id:
        raise FourEyes(_l("you cannot decide your own request: another custodian must"))
    if reads_case(session, user, case) or session.scalar(select(exists().where(
            Conflict.case_id == case.id, Conflict.user_id == user.id))):
        # Otherwise one person holding both roles would be both pairs of eyes: they could
        # approve a colleague's request on a case they read, or release to themselves
        # through a second account they act for. A declared conflict bars them as well.
        raise FourEyes(_l("you read this case yourself: a custodian who does not read it "
                          "must decide"))
    return key


def _still_reads(session: Session, requester: User, case: Case) -> bool:
    """The requester still reads the case: active, key in the report header, no declared
    conflict (their private key is not here to run the reader's own access check)."""
    report = report_envelope(case)
    return requester.active and requester.public_key is not None and report is not None \
        and crypto.key_id_of(requester.public_key) in crypto.header_key_ids(report.header) \
        and not session.scalar(select(exists().where(Conflict.case_id == case.id,
                                                     Conflict.user_id == requester.id)))


def decide(casework: Casework, session: Session, custodian_user: User,
           custodian_key: crypto.PrivateKey | None, request_id: str, approve: bool,
           decision_code: str, decision_text: str, notice: ReporterNotice | None,
           notice_text: str) -> IdentityRequestStatus:
    """A custodian (never the requester, never a reader of the case) decides a request.

    Approving tells the reporter first (a notice in the dialogue, queued for push) unless
    ``notice`` is WITHHELD, whose ``notice_text`` records why telling would jeopardise the
    investigation; then releases the outer key to the requester. Every check runs before
    anything is sealed; a refusal changes nothing.
    """
    request = session.get(IdentityRequest, request_id)
    if request is None:
        raise NotPermitted()
    case = session.get(Case, request.case_id)
    requester = session.get(User, request.requester_id)
    if case is None or requester is None:
        raise NotPermitted()
    key = _may_decide(session, custodian_user, custodian_key, request, case)
    if request.status != IdentityRequestStatus.PENDING.value:
        raise IdentityConflict(_l("this request was already decided or withdrawn"))
    code = _code(decision_code, APPROVE_CODES if approve else REFUSE_CODES)
    text = _text(decision_text, _l("the decision's reason"))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if not approve:
        _claim(session, request, IdentityRequestStatus.REFUSED, decided_by=custodian_user.id,
               decided_at=now, decision_code=code)
        request.decision_envelope_id = _seal_text(casework, session, case,
                                                  author=custodian_user,
                                                  requester=requester, text=text)
        emit_on(session, IdentityRequestRefused(case.id, custodian_user.id, request.id,
                                                requester.id, code))
        return IdentityRequestStatus.REFUSED
    if notice is None:
        raise InvalidInput(_l("say whether the reporter is told first"))
    told = _text(notice_text, _l("the notice to the reporter") if notice == ReporterNotice.TOLD
                 else _l("the reason for not telling the reporter"))
    new_header = _release(casework, session, key, case, requester)
    _claim(session, request, IdentityRequestStatus.APPROVED, decided_by=custodian_user.id,
           decided_at=now, decision_code=code, notice=notice.value)
    request.decision_envelope_id = _seal_text(casework, session, case, author=custodian_user,
                                              requester=requester, text=text)
    if notice == ReporterNotice.TOLD:
        request.notice_envelope_id = _tell_reporter(casework, session, case,
                                                    custodian_user, told)
    else:
        request.notice_envelope_id = _seal_text(casework, session, case,
                                                author=custodian_user,
                                                requester=requester, text=told)
    # Released last, in the same transaction as the notice: the requester never holds
    # the key without the reporter's notice having been queued (or its withholding
    # recorded); reading waits further for the notice's delivery (read_identity).
    envelope = identity_envelope(case)
    assert envelope is not None  # noqa: S101 (_release found it)
    envelope.header = new_header
    emit_on(session, IdentityRequestApproved(case.id, custodian_user.id, request.id,
                                             requester.id, code, notice.value))
    return IdentityRequestStatus.APPROVED


def _release(casework: Casework, session: Session, key: crypto.PrivateKey, case: Case,
             requester: User) -> bytes:
    """The identity's outer header with the requester added; refused (409) unless the
    requester could then open the inner layer too."""
    envelope = identity_envelope(case)
    if envelope is None:
        raise IdentityConflict(_l("this case has no sealed identity"))
    if not _still_reads(session, requester, case):
        raise IdentityConflict(_l("the requester no longer reads this case (they left it, "
                                  "declared a conflict or their account was closed)"))
    custody = _custody(casework, envelope)
    try:
        inner = crypto.inner_key_ids(custody, key)
    except crypto.UnknownRecipient as exc:
        raise IdentityConflict(_l("your key is not among those this identity was sealed "
                                  "to (you became a custodian later): another custodian "
                                  "must decide, or escrow recovery is needed")) from exc
    assert requester.public_key is not None  # noqa: S101 (_still_reads checked it)
    if crypto.key_id_of(requester.public_key) not in inner:
        # The inner layer holds the readers intake sealed to; someone who joined later
        # (an escalation, an assignment) is not among them, and releasing the outer key
        # to them would give them nothing but a false "approved".
        raise IdentityConflict(_l("the requester was not among the case's readers when "
                                  "the report was sealed, so the identity cannot be opened "
                                  "with their key: a reader from that time must ask"))
    return crypto.release(envelope.header, key, crypto.PublicKey(requester.public_key))


def _tell_reporter(casework: Casework, session: Session, case: Case, custodian: User,
                   text: str) -> str:
    """The Art. 16(3) notice: a message in the reporter's dialogue, queued for push.

    Sealed to the tipster key and the case's active readers (and escrow), as replies are.
    The custodian holds no content key of the report, so cannot check the reader list's
    tag (casework.readers): the notice is sealed to the header's readers as they stand.
    It holds only the custodian's words to the reporter, never the identity.
    """
    recipients = [crypto.PublicKey(case.tipster_public_key),
                  *(crypto.PublicKey(p.public_key) for p in case_readers(session, case)
                    if p.public_key is not None and p.active)]
    if casework.config.escrow_public_key is not None:
        recipients.append(crypto.PublicKey(casework.config.escrow_public_key))
    message = DialogueMessage(author=Author.REVIEWER, text=text, identity_notice=True)
    return seal_item(casework, session, case, kind=EnvelopeKind.MESSAGE,
                     document=message.to_json(), recipients=recipients,
                     author_id=custodian.id, for_tipster=True)


# --- reading ---------------------------------------------------------------------------


def read_identity(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, request_id: str) -> IdentityShown:
    """Open the identity for its approved requester, with their own key (both layers).

    Refused until the reporter's notice has reached intake (when they are told), and
    whenever the requester no longer reads the case. Every reading is audited.
    """
    request = _own_request(session, user, request_id)
    if request.status != IdentityRequestStatus.APPROVED.value:
        raise IdentityConflict(_l("this request is not approved"))
    case = readable_case(session, user, key, request.case_id)
    assert key is not None  # noqa: S101 (readable_case refuses without one)
    if request.notice == ReporterNotice.TOLD.value:
        notice = session.get(CaseEnvelope, request.notice_envelope_id or "")
        if notice is None or not notice.delivered:
            raise IdentityConflict(_l("the reporter has not been told yet: the notice waits "
                                      "to be delivered to them; try again after the next "
                                      "sync with intake"))
    envelope = identity_envelope(case)
    if envelope is None:
        raise IdentityConflict(_l("this case has no sealed identity"))
    try:
        plaintext = crypto.open_in_custody(_custody(casework, envelope), key)
    except crypto.UnknownRecipient as exc:
        raise IdentityConflict(_l("your key does not open this identity (it was changed "
                                  "after the approval): ask again")) from exc
    document = json.loads(plaintext)
    if not isinstance(document, dict):
        raise crypto.TamperedEnvelope("the identity is not a JSON object")
    if request.first_read_at is None:
        request.first_read_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    emit_on(session, IdentityRead(case.id, user.id, request.id))
    return IdentityShown(request.id, case.id, case.reference,
                         str(document.get("name", "")), str(document.get("contact", "")))
