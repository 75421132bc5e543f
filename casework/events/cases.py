"""Events about cases as they are read, worked and moved along: each names its ``case_id``
(but a bulk handover, which names the two people).

The audit log files these under their case (``case_id`` is its case column), so a
reviewer reading a case's history reads this module's events. Separate from the people
who work cases (:mod:`casework.events.accounts`) and from the runs and settings of the
instance as a whole (:mod:`casework.events.operations`): those name no case. The
reporter's own side of a case (the confidential identity, oral minutes) is
:mod:`casework.events.reporters`. The rules every event follows are the package's
(:mod:`casework.events`).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.unit_of_work import DomainEvent

# --- reading and working a case -------------------------------------------------------


@dataclass(frozen=True)
class CaseRead(DomainEvent):
    """A reader opened (decrypted) a case."""

    case_id: str
    user_id: str


@dataclass(frozen=True)
class FileDownloaded(DomainEvent):
    """A reader downloaded an item of a case (as sent or scrubbed)."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class ReplySent(DomainEvent):
    """A reply to the tipster was sealed (it waits to be pushed to intake)."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class NoteAdded(DomainEvent):
    """An internal note was sealed to the case's readers."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class CaseAssigned(DomainEvent):
    """A unit lead (``by``) gave a case to a person (``user_id``)."""

    case_id: str
    user_id: str
    by: str
    envelopes_changed: int


# --- the workflow: triage, stages, assignment, escalation, conflicts ------------------
# Codes and ids only; a reason's free text is sealed (``reason_envelope_id`` points at it).


@dataclass(frozen=True)
class CaseTriaged(DomainEvent):
    """A reader set the case's triage fields; ``changed`` names them (never values
    that could be content: a typed "other" agency is sealed, only its code is here)."""

    case_id: str
    user_id: str
    changed: tuple[str, ...]


@dataclass(frozen=True)
class CasesLinked(DomainEvent):
    """Two cases were linked (``kind``: a :class:`casework.models.LinkKind` value)."""

    case_id: str
    linked_case_id: str
    kind: str
    user_id: str


@dataclass(frozen=True)
class CasesUnlinked(DomainEvent):
    """A link between two cases was removed."""

    case_id: str
    linked_case_id: str
    user_id: str


@dataclass(frozen=True)
class CaseMerged(DomainEvent):
    """A duplicate was merged into its primary case's timeline (envelopes kept)."""

    case_id: str
    into_case_id: str
    user_id: str


@dataclass(frozen=True)
class StageChanged(DomainEvent):
    """A case moved along the workflow graph; the tipster was told (``status_envelope_id``)."""

    case_id: str
    user_id: str
    from_stage: str
    to_stage: str
    reason_code: str
    outcome: str | None = None
    reopened: bool = False
    reason_envelope_id: str | None = None
    status_envelope_id: str | None = None
    # A conclusion's two optional amounts (art. 27(2)), whole kronor: numbers only, as
    # the case row holds them (not personal data; never the text that was typed).
    damage_estimate_sek: int | None = None
    recovered_sek: int | None = None


@dataclass(frozen=True)
class FeedbackRecorded(DomainEvent):
    """A reply was marked as the legal feedback to the tipster (Art. 9(1)(f))."""

    case_id: str
    envelope_id: str
    user_id: str


@dataclass(frozen=True)
class CaseUnassigned(DomainEvent):
    """A unit lead (``by``) took a case from a person (``user_id``)."""

    case_id: str
    user_id: str
    by: str


@dataclass(frozen=True)
class CasesHandedOver(DomainEvent):
    """A bulk handover of one person's cases to another; ``skipped`` were refused
    (the receiver excluded by the tipster, or not able to read the case's unit)."""

    from_user_id: str
    to_user_id: str
    by: str | None
    handed_over: int
    skipped: int


@dataclass(frozen=True)
class CaseEscalated(DomainEvent):
    """A case was sent inside Lykta (``kind`` unit or kof) to unit ``destination``;
    ``readers_added`` people of that unit became recipients."""

    case_id: str
    user_id: str
    kind: str
    destination: str
    reason_code: str
    readers_added: int
    reason_envelope_id: str | None = None


@dataclass(frozen=True)
class CaseReferred(DomainEvent):
    """A case was referred to an external authority (a code of the configured list)."""

    case_id: str
    user_id: str
    authority: str
    reason_code: str
    reason_envelope_id: str | None = None
    status_envelope_id: str | None = None


@dataclass(frozen=True)
class ConflictDeclared(DomainEvent):
    """A reader declared a conflict of interest: refused from now on, rekey pending."""

    case_id: str
    user_id: str


@dataclass(frozen=True)
class CaseRekeyed(DomainEvent):
    """A reader (``user_id``) rekeyed a case after a declared conflict: new content
    keys, bodies re-encrypted; ``removed`` people lost their entries."""

    case_id: str
    user_id: str
    envelopes: int
    removed: int


# --- the bridge's import (emitted by casework/bridge, see its module) -----------------


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    """A new report came over the bridge and a case was opened for it."""

    case_id: str
    unit_id: str


@dataclass(frozen=True)
class ItemImported(DomainEvent):
    """An item of a case (the report, a follow-up, a file) came over the bridge;
    ``kind`` is its :class:`common.contract.EnvelopeKind` value."""

    case_id: str
    envelope_id: str
    kind: str


@dataclass(frozen=True)
class AcknowledgedAutomatically(DomainEvent):
    """The automatic acknowledgement of a new case was sealed for the tipster."""

    case_id: str
    envelope_id: str


# --- deadlines (casework/deadlines.py) ------------------------------------------------


@dataclass(frozen=True)
class FeedbackDeadlineExtended(DomainEvent):
    """The feedback deadline was extended to six months, with a reason code."""

    case_id: str
    user_id: str
    reason_code: str
    reason_envelope_id: str | None = None


# --- retention of one case (casework/retention.py) ------------------------------------


@dataclass(frozen=True)
class LegalHoldPlaced(DomainEvent):
    """A legal hold paused the purge of a case."""

    case_id: str
    user_id: str
    hold_id: str
    reason_code: str


@dataclass(frozen=True)
class LegalHoldLifted(DomainEvent):
    """A legal hold was lifted."""

    case_id: str
    user_id: str
    hold_id: str


@dataclass(frozen=True)
class CasePurged(DomainEvent):
    """A case's content was purged: ``envelopes`` envelopes (bodies and headers) removed
    from the database and the store; the row stays for statistics and the audit log."""

    case_id: str
    envelopes: int
