"""What the tipster's dialogue holds: the payloads sealed for it, as documents.

Sealed to the tipster key (and, for replies, to the case's readers), so both sides read
and write the same fields (a reply's author, the stage it announces) instead of guessing
from dict keys. They never travel in the clear: the bridge carries them sealed inside
its items (:mod:`common.contract.items`), which is why their shape is apart from the wire
form. The tipster's browser never runs code, so these are rendered by intake as escaped
text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .terms import Author, Category, Outcome, Stage


def now_iso() -> str:
    """The moment an item is sent, inside the sealed payload only (microseconds: a report
    and a follow-up in the same second must still sort)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DialogueMessage:
    """A message in the dialogue: the tipster's own copy of a follow-up, or a reply.

    A reply names no person (a stolen receipt must not tell who handles the case); a reply
    that comes with a stage change carries the new ``stage``.
    """

    author: Author
    text: str
    sent_at: str = field(default_factory=now_iso)
    files: tuple[str, ...] = ()
    automatic: bool = False
    stage: Stage | None = None
    # Art. 16(3): the written notice, with the custodian's reasons, that the reporter's
    # identity is about to be disclosed to a named function (never a person's name).
    identity_notice: bool = False

    def to_json(self) -> dict[str, Any]:
        """The sealed JSON document."""
        document: dict[str, Any] = {"type": "message", "author": self.author.value,
                                    "text": self.text, "sent_at": self.sent_at}
        if self.files:
            document["files"] = list(self.files)
        if self.automatic:
            document["automatic"] = True
        if self.stage is not None:
            document["stage"] = self.stage.value
        if self.identity_notice:
            document["identity_notice"] = True
        return document


@dataclass(frozen=True)
class DialogueMinutes:
    """Minutes of an oral report, for the reporter to check, correct and approve (Art. 18).

    Sealed to the tipster key and the case's readers (kind ``minutes``). ``channel`` is a
    code (``casework.models.OralChannel``); ``held_on`` the day of the call or meeting.
    """

    text: str
    channel: str
    held_on: str  # ISO date
    sent_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        """The sealed JSON document."""
        return {"type": "minutes", "author": Author.REVIEWER.value, "text": self.text,
                "channel": self.channel, "held_on": self.held_on, "sent_at": self.sent_at}


@dataclass(frozen=True)
class MinutesAnswer:
    """The reporter's answer to minutes (kind ``minutes-approved`` or
    ``minutes-amended``): which minutes, and the corrections in their words."""

    minutes_envelope_id: str
    approved: bool
    corrections: str = ""
    sent_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        """The sealed JSON document."""
        return {"type": "minutes-answer", "author": Author.TIPSTER.value,
                "minutes_envelope_id": self.minutes_envelope_id, "approved": self.approved,
                "corrections": self.corrections, "sent_at": self.sent_at}


@dataclass(frozen=True)
class DialogueReport:
    """The tipster's own view of their report: what and when, not the text (a stolen
    receipt then reveals the dialogue, not the full report)."""

    category: Category
    agency: str
    files: tuple[str, ...]
    confidential: bool
    sent_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        """The sealed JSON document."""
        return {"type": "report", "author": Author.TIPSTER.value, "sent_at": self.sent_at,
                "category": self.category.value, "agency": self.agency,
                "files": list(self.files), "confidential": self.confidential}


@dataclass(frozen=True)
class StatusUpdate:
    """A stage change told to the tipster without a message.

    Intake renders it in plain language, in the tipster's language, from these codes
    alone: the outcome of a concluded case, and the authority a case was referred to (a
    code from casework's configured list, e.g. ``jo``, with the authority's public name
    in Swedish and English: intake has no copy of that list). No reviewer's text rides
    here.
    """

    stage: Stage
    sent_at: str = field(default_factory=now_iso)
    outcome: Outcome | None = None
    referred_to: str | None = None
    referred_to_name: Mapping[str, str] | None = None  # {"sv": ..., "en": ...}
    reopened: bool = False

    def to_json(self) -> dict[str, Any]:
        """The sealed JSON document."""
        document: dict[str, Any] = {"type": "status", "stage": self.stage.value,
                                    "sent_at": self.sent_at}
        if self.outcome is not None:
            document["outcome"] = self.outcome.value
        if self.referred_to is not None:
            document["referred_to"] = self.referred_to
        if self.referred_to_name is not None:
            document["referred_to_name"] = dict(self.referred_to_name)
        if self.reopened:
            document["reopened"] = True
        return document


def announced_stage(document: Mapping[str, object]) -> Stage | None:
    """The stage a dialogue item announces, if it names a known one (else None)."""
    try:
        return Stage(str(document.get("stage")))
    except ValueError:
        return None
