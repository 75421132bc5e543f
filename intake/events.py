"""What intake's domain layer tells its subscribers: ids and codes, never content.

Events are emitted on the unit of work (:meth:`common.unit_of_work.UnitOfWork.emit`)
and handed to the subscribers of the intake's :class:`~common.unit_of_work.Dispatcher`
(``Intake.dispatcher``) only when their transaction commits; a refused request emits
nothing.

Rules for every event here, and for every subscriber:

- An event carries ids and codes only. Never a receipt code, an IP address, a user
  agent, anything the tipster wrote (text, a file name, a name or contact), nor a
  lookup token or key: whatever a subscriber receives could end up in a log.
- No subscriber may persist the timing of tipster activity. Intake keeps no record of
  when a tipster was active (a session row's purge time is rounded up to the hour, and
  stored dates have no time of day): a subscriber that wrote down when these events
  happened would undo that. The audit log subscribes on casework's side, to casework's
  own events; intake's events exist to keep the one place where a change is announced,
  not to feed a record of the tipster.
- A sign-in names no receipt: a tipster session row does not say which report it opens
  (see ``intake.models.TipsterSession``), and an event must not link them either.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.unit_of_work import DomainEvent


@dataclass(frozen=True)
class ReportSubmitted(DomainEvent):
    """A report was sealed and stored: its receipt row's id, the unit and the category."""

    receipt_id: str
    unit_id: str
    category: str


@dataclass(frozen=True)
class FollowUpSent(DomainEvent):
    """A tipster sent a follow-up message on a receipt, with this many files."""

    receipt_id: str
    files: int


@dataclass(frozen=True)
class TipsterSignedIn(DomainEvent):
    """Someone signed in with a receipt code. Deliberately names nothing (see above)."""
