"""The vocabulary of the contract: the words both apps use, as enums.

Report categories, case stages and outcomes, envelope kinds (and which of them may cross
the bridge in each direction), audiences, who wrote a dialogue item, and the purposes
that signed messages carry. These are the codes that rows, routing and sealed payloads
hold; each app labels them in its own catalogue (tests check both label tables cover
every member). They change with the policy and the law, not with the wire format, which
is why they are apart from the bridge's items (:mod:`common.contract.items`) and the
sync's schemas (:mod:`common.contract.sync`), which only use them.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What can be reported (policy sections 3 and 9)."""

    CORRUPTION = "corruption"
    PROCUREMENT = "procurement"
    BIAS = "bias"
    ETHICS = "ethics"
    FUNDS = "funds"
    RETALIATION = "retaliation"
    OTHER = "other"


class Stage(StrEnum):
    """Where a case stands, after ISO 37002; the tipster sees the same stage."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ASSESSED = "assessed"
    INVESTIGATING = "investigating"
    CONCLUDED = "concluded"


class Outcome(StrEnum):
    """How a concluded case ended (recorded with the conclusion)."""

    SUBSTANTIATED = "substantiated"
    NOT_SUBSTANTIATED = "not-substantiated"
    REFERRED = "referred"
    DISMISSED = "dismissed"
    # A report outside the channel's scope: closed without follow-up.
    CLOSED_WITHOUT_FOLLOW_UP = "closed-without-follow-up"


class EnvelopeKind(StrEnum):
    """What a sealed envelope holds; the kind also travels in its authenticated routing."""

    REPORT = "report"  # the tipster's report, for casework
    FILE = "file"  # an attachment, for casework
    IDENTITY = "identity"  # a confidential reporter's name and contact, for custodians
    MESSAGE = "message"  # a follow-up from the tipster, or a reply to the tipster
    NOTE = "note"  # an internal note: never leaves casework
    # The free text of a workflow reason (a stage change, an escalation, a conflict):
    # sealed to the case's readers, never leaves casework; the row keeps only a code.
    REASON = "reason"
    STATUS = "status"  # a stage change told to the tipster
    OWN_REPORT = "own-report"  # the tipster's own copy of what they reported
    OWN_MESSAGE = "own-message"  # the tipster's own copy of a follow-up
    # Oral reports (Art. 18): minutes a reader wrote, sent to the reporter's dialogue to
    # check; the reporter's answer travels as its own kind, so that casework records it
    # at import without reading it (the words of a correction stay sealed).
    MINUTES = "minutes"  # casework -> tipster: minutes to approve or correct
    MINUTES_APPROVED = "minutes-approved"  # tipster -> casework: "these are right"
    # "amended", not "corrected": a kind is at most 16 characters (the sync schema's
    # MAX_KIND and both apps' kind columns), and "minutes-corrected" is 17.
    MINUTES_CORRECTED = "minutes-amended"  # tipster -> casework: corrections, sealed


# What intake may hand casework: only what a tipster can send. Casework's own kinds
# (a note, a reviewer's reply, a status) can never arrive from intake.
FROM_TIPSTER_KINDS = frozenset({EnvelopeKind.REPORT, EnvelopeKind.FILE,
                                EnvelopeKind.IDENTITY, EnvelopeKind.MESSAGE,
                                EnvelopeKind.MINUTES_APPROVED,
                                EnvelopeKind.MINUTES_CORRECTED})
# What casework may push to intake for the tipster.
TO_TIPSTER_KINDS = frozenset({EnvelopeKind.MESSAGE, EnvelopeKind.STATUS,
                              EnvelopeKind.MINUTES})


class Audience(StrEnum):
    """Who an envelope held at intake is for."""

    CASEWORK = "casework"  # waits for the bridge, then is deleted at intake
    TIPSTER = "tipster"  # the tipster's dialogue: stays at intake


class Author(StrEnum):
    """Who wrote a dialogue item, as the tipster is shown it (never a staff name)."""

    TIPSTER = "tipster"
    REVIEWER = "reviewer"


class SyncPurpose(StrEnum):
    """The requests of the HTTP sync; each answer is signed for ``<purpose>-response``."""

    PULL = "pull"
    FETCH = "fetch"
    ACK = "ack"
    PUSH = "push"
    COMMAND = "command"  # casework's commands for intake (see CommandItem)

    @property
    def response(self) -> str:
        """The purpose an answer to this request is signed for."""
        return f"{self.value}-response"


class DocumentPurpose(StrEnum):
    """Signed documents that travel as files rather than as requests."""

    RECIPIENT_DIRECTORY = "recipient-directory"
    BUNDLE_TO_CASEWORK = "bundle-to-casework"
    BUNDLE_TO_INTAKE = "bundle-to-intake"
