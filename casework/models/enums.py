"""Casework's own vocabulary (the words intake shares are in ``common.contract``).

Codes are what rows store and statistics count; labels in the reader's language are in
``casework.i18n``. A reason's free text is never a column: it is sealed to the case's
readers (``EnvelopeKind.REASON``) and the row keeps the code and the envelope id.
"""

from __future__ import annotations

from enum import StrEnum

from common.contract import CommandKind


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


# --- Casework III: identities, oral reports, deadlines, retention -------------------------


class IdentityRequestStatus(StrEnum):
    """Where a request to read a confidential reporter's identity stands (four eyes)."""

    PENDING = "pending"  # waits for a custodian (never granted automatically)
    APPROVED = "approved"  # a custodian released the outer key to the requester
    REFUSED = "refused"  # a custodian refused, with a reason
    WITHDRAWN = "withdrawn"  # the requester took it back before a decision


class ReporterNotice(StrEnum):
    """Whether the reporter was told before their identity was disclosed (Art. 16(3))."""

    TOLD = "told"  # a notice with reasons went into the dialogue first
    WITHHELD = "withheld"  # the custodian recorded why telling would jeopardise the case


class IdentityReasonCode(StrEnum):
    """Why a reader asks for a reporter's identity, or why a custodian decides."""

    INVESTIGATION_NEEDS = "investigation-needs"  # the investigation cannot go on without it
    PROTECTION = "protection"  # to protect the reporter against retaliation
    LEGAL_PROCEEDINGS = "legal-proceedings"  # required in judicial proceedings
    NOT_NECESSARY = "not-necessary"  # refusal: the investigation can go on without it
    INSUFFICIENT_REASON = "insufficient-reason"  # refusal: the reason does not carry it
    OTHER = "other"


class OralChannel(StrEnum):
    """How an oral report was given (Art. 9(2))."""

    PHONE = "phone"
    MEETING = "meeting"
    VOICE_MESSAGE = "voice-message"


class MinutesStatus(StrEnum):
    """Where the minutes of an oral report stand with the reporter (Art. 18)."""

    AWAITING = "awaiting"  # sent to the reporter's dialogue; no answer yet
    APPROVED = "approved"  # the reporter approved them
    CORRECTED = "corrected"  # the reporter sent corrections (new minutes may follow)


class ReminderKind(StrEnum):
    """Which deadline a reminder e-mail is about."""

    ACKNOWLEDGE_SOON = "acknowledge-soon"
    ACKNOWLEDGE_OVERDUE = "acknowledge-overdue"
    FEEDBACK_SOON = "feedback-soon"
    FEEDBACK_OVERDUE = "feedback-overdue"


class ExtensionReasonCode(StrEnum):
    """Why the feedback deadline was extended to six months (Art. 11(2)(d))."""

    COMPLEX_INVESTIGATION = "complex-investigation"
    AWAITING_EXTERNAL = "awaiting-external"  # waiting for another authority or an expert
    VOLUME_OF_MATERIAL = "volume-of-material"
    OTHER = "other"


class HoldReasonCode(StrEnum):
    """Why a legal hold pauses a case's purge."""

    LEGAL_PROCEEDINGS = "legal-proceedings"
    ONGOING_INVESTIGATION = "ongoing-investigation"  # e.g. by a referred authority
    ARCHIVING_DECISION = "archiving-decision"  # the archive authority decided to keep it
    OTHER = "other"


# What casework asks intake to do through the bridge (beyond pushing replies): the
# contract's words, named as casework's rows use them.
IntakeCommandKind = CommandKind


# --- KOF statistics ---------------------------------------------------------------------


class ReleaseKind(StrEnum):
    """How often a release is published (policy: quarterly and annual reports)."""

    QUARTERLY = "quarterly"
    ANNUAL = "annual"
