"""Events about the reporter's own side of a case: a confidential identity, oral minutes.

They name a case like :mod:`casework.events.cases`, but they record what the law guards
most closely: who may read a confidential reporter's identity, under four eyes (Art. 16),
and the reporter's check of the minutes of an oral report (Art. 18). Kept apart so that
the custodians' and the data protection officer's review has one short list to read.
Ids and codes only: a request's or a decision's reasons are sealed, never here.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.unit_of_work import DomainEvent

# --- confidential identities under four eyes (casework/identity.py) -------------------


@dataclass(frozen=True)
class IdentityRequested(DomainEvent):
    """A reader asked to read a confidential reporter's identity (a code; the reason's
    words are sealed to the custodians and the requester)."""

    case_id: str
    user_id: str
    request_id: str
    reason_code: str


@dataclass(frozen=True)
class IdentityRequestWithdrawn(DomainEvent):
    """The requester withdrew a pending identity request."""

    case_id: str
    user_id: str
    request_id: str


@dataclass(frozen=True)
class IdentityRequestApproved(DomainEvent):
    """A custodian (``user_id``, never the requester) approved a request and released the
    outer key to the requester; ``notice`` says whether the reporter was told first."""

    case_id: str
    user_id: str
    request_id: str
    requester_id: str
    decision_code: str
    notice: str


@dataclass(frozen=True)
class IdentityRequestRefused(DomainEvent):
    """A custodian refused a request, with a reason."""

    case_id: str
    user_id: str
    request_id: str
    requester_id: str
    decision_code: str


@dataclass(frozen=True)
class IdentityRead(DomainEvent):
    """An approved requester opened the identity (both layers, with their own key)."""

    case_id: str
    user_id: str
    request_id: str


@dataclass(frozen=True)
class IdentityRecoveredFromEscrow(DomainEvent):
    """The escrow key (offline, split among KOF's custodians) opened an identity."""

    case_id: str


# --- oral and in-person reports (casework/oral.py) ------------------------------------


@dataclass(frozen=True)
class OralReportRecorded(DomainEvent):
    """A reader recorded an oral report: a case was opened and a receipt issued."""

    case_id: str
    user_id: str
    channel: str


@dataclass(frozen=True)
class MinutesSent(DomainEvent):
    """Minutes of an oral report went into the reporter's dialogue for approval."""

    case_id: str
    user_id: str
    envelope_id: str


@dataclass(frozen=True)
class MinutesAnswered(DomainEvent):
    """The reporter approved the minutes (``status`` approved) or sent corrections."""

    case_id: str
    envelope_id: str
    status: str
