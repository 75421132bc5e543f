"""Casework's own vocabulary (the words intake shares are in ``common.contract``).

Codes are what rows store and statistics count; labels in the reader's language are in
``casework.i18n``. A reason's free text is never a column: it is sealed to the case's
readers (``EnvelopeKind.REASON``) and the row keeps the code and the envelope id.
"""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """How urgently a case is worked (set at triage)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ReasonCode(StrEnum):
    """Why a case moved: one code per stage change, escalation, referral or reopening.

    ``casework.workflow`` says which codes go with which transition.
    """

    # received -> acknowledged
    RECEIPT_CONFIRMED = "receipt-confirmed"
    # acknowledged -> assessed
    WITHIN_SCOPE = "within-scope"
    NEEDS_MORE_INFORMATION = "needs-more-information"
    # assessed -> investigating
    INVESTIGATION_OPENED = "investigation-opened"
    # -> concluded
    EVIDENCE_SUFFICIENT = "evidence-sufficient"
    EVIDENCE_INSUFFICIENT = "evidence-insufficient"
    OUTSIDE_SCOPE = "outside-scope"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"
    REFERRED_ELSEWHERE = "referred-elsewhere"
    # concluded -> reopened (back to assessed or investigating)
    NEW_INFORMATION = "new-information"
    HANDLING_ERROR = "handling-error"
    TIPSTER_REQUEST = "tipster-request"
    # escalation and referral
    SERIOUSNESS = "seriousness"
    COMPETENCE = "competence"
    CONFLICT_IN_UNIT = "conflict-in-unit"
    CRIMINAL_SUSPICION = "criminal-suspicion"
    OTHER = "other"


class LinkKind(StrEnum):
    """How two cases are linked."""

    RELATED = "related"  # symmetric: stored in both directions
    DUPLICATE = "duplicate"  # the case is a duplicate of the linked (primary) case


class EscalationKind(StrEnum):
    """Where a case was sent."""

    UNIT = "unit"  # to another unit inside Lykta (its readers become recipients)
    KOF = "kof"  # to KOF inside Lykta
    REFERRAL = "referral"  # to an external authority: a destination code and a date only
