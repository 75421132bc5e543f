"""The contract between intake and casework: every word and message both apps share.

Intake knows nothing of casework beyond this module, and casework nothing of intake:

- the vocabulary, as enums: report categories, case stages and outcomes, envelope kinds,
  audiences, who wrote a dialogue item, and the purposes that signed messages carry;
- the items that cross the bridge, as frozen dataclasses with ONE wire form (JSON with
  bytes in standard base64), used alike by the HTTP sync and the air-gap bundles;
- the payloads sealed for the tipster's dialogue, so both sides read and write the same
  fields (a reply's author, the stage it announces) instead of guessing from dict keys.

Parsing a wire form checks it strictly (with the primitives of ``common.sync_schema``):
a signature says who sent a message, not that it is well formed. Refusals name the
field, never its value. The schemas of the sync's requests and answers are here too
(:data:`REQUESTS`, :data:`RESPONSES`); the air-gap bundles' are in ``common.bundles``.
Labels in the reader's language are each app's own (each has its own catalogue); tests
check both label tables cover every member of every enum here.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

from . import sync_schema as schema


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


# --- One wire form for the bridge's items ------------------------------------------------


def b64(data: bytes) -> str:
    """Bytes on the wire: standard base64, padded (the one encoding of the bridge)."""
    return base64.b64encode(data).decode("ascii")


_TIPSTER_ITEM_FIELDS: dict[str, schema.Check] = {
    "envelope_id": schema.hex_id, "receipt_id": schema.hex_id,
    # Checked for shape only: a well-formed item of a kind intake may not send is refused
    # by casework's import (and acknowledged there, so it cannot block the queue).
    "kind": schema.text(schema.MAX_KIND),
    "header": schema.base64_bytes(schema.MAX_HEADER),
    "tipster_public_key": schema.base64_bytes(32),
    "unit_id": schema.text(schema.MAX_UNIT_ID),
}


@dataclass(frozen=True)
class TipsterItem:
    """An envelope a tipster sent, on its way from intake to casework (no body)."""

    envelope_id: str
    receipt_id: str
    kind: str
    header: bytes
    body_size: int
    tipster_public_key: bytes
    unit_id: str

    SCHEMA = schema.record({**_TIPSTER_ITEM_FIELDS, "body_size": schema.integer(0, 2**62)})

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"envelope_id": self.envelope_id, "receipt_id": self.receipt_id,
                "kind": self.kind, "header": b64(self.header), "body_size": self.body_size,
                "tipster_public_key": b64(self.tipster_public_key), "unit_id": self.unit_id}

    @classmethod
    def from_wire(cls, value: object, where: str = "item") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`."""
        checked = schema.validate(cls.SCHEMA, value, where)
        if len(checked["tipster_public_key"]) != 32:
            raise schema.Malformed(f"{where}.tipster_public_key is not 32 bytes")
        return cls(**checked)


@dataclass(frozen=True)
class BundledTipsterItem:
    """A :class:`TipsterItem` with its body, as an air-gap bundle carries it."""

    item: TipsterItem
    body: bytes

    SCHEMA = schema.record({**_TIPSTER_ITEM_FIELDS,
                            "body": schema.base64_bytes(schema.MAX_BODY)})

    def to_wire(self) -> dict[str, Any]:
        """The JSON form: the item's fields (but its size) and the body."""
        wire = self.item.to_wire()
        del wire["body_size"]
        return {**wire, "body": b64(self.body)}

    @classmethod
    def from_wire(cls, value: object, where: str = "item") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`."""
        checked = schema.validate(cls.SCHEMA, value, where)
        body = checked.pop("body")
        if len(checked["tipster_public_key"]) != 32:
            raise schema.Malformed(f"{where}.tipster_public_key is not 32 bytes")
        return cls(TipsterItem(**checked, body_size=len(body)), body)


@dataclass(frozen=True)
class ReplyItem:
    """An envelope casework sealed to the tipster (a reply or a status), for intake."""

    receipt_id: str
    envelope_id: str
    kind: EnvelopeKind
    header: bytes
    body: bytes

    SCHEMA = schema.record({"receipt_id": schema.hex_id, "envelope_id": schema.hex_id,
                            "kind": schema.one_of(TO_TIPSTER_KINDS),
                            "header": schema.base64_bytes(schema.MAX_HEADER),
                            "body": schema.base64_bytes(schema.MAX_PUSH_BODY)})

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"receipt_id": self.receipt_id, "envelope_id": self.envelope_id,
                "kind": self.kind.value, "header": b64(self.header), "body": b64(self.body)}

    @classmethod
    def from_wire(cls, value: object, where: str = "item") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`."""
        checked = schema.validate(cls.SCHEMA, value, where)
        return cls(**{**checked, "kind": EnvelopeKind(checked["kind"])})


# --- Casework's commands for intake ------------------------------------------------------
#
# Beyond replies, casework asks intake for two things: to register the receipt of an oral
# report (so the reporter can sign in at intake like anyone else) and to forget a purged
# case's dialogue. Both carry ids, a lookup token and public keys: never a receipt code,
# never content. Intake applies each idempotently (delivery is at least once).


class CommandKind(StrEnum):
    """What casework may ask intake to do (the same codes as casework's IntakeCommandKind)."""

    REGISTER_RECEIPT = "register-receipt"
    FORGET_DIALOGUE = "forget-dialogue"


class CommandRefusal(StrEnum):
    """Why intake refused a command for good (a code, said back and logged; no values)."""

    COLLISION = "collision"  # the lookup token or the key belongs to another receipt
    CONFLICT = "conflict"  # this receipt id is registered with other values
    KDF_LIMIT = "kdf-limit"  # one Argon2 parameter set too many for sign-in to try


MAX_COMMAND_READERS = 256  # key ids a registration lists; a unit has a few dozen readers
KEY_ID_HEX = 32  # a key id (crypto.key_id_of: 16 bytes) in lowercase hex

# Argon2 parameters within crypto's own hard bounds (crypto/kdf.py), checked again there.
_KDF = schema.record({"t": schema.integer(1, 16), "m": schema.integer(8, 1024 * 1024),
                      "p": schema.integer(1, 16)})


def _key_id(value: object, where: str) -> str:
    """A key id: 32 lowercase hex characters."""
    if (not isinstance(value, str) or len(value) != KEY_ID_HEX
            or any(c not in "0123456789abcdef" for c in value)):
        raise schema.Malformed(f"{where} is not a key id")
    return value


@dataclass(frozen=True)
class ReceiptRegistration:
    """Register an oral report's receipt at intake: what the code derives to (the lookup
    token and the tipster's public key, under ``kdf``), the unit, and the key ids a
    follow-up is sealed to."""

    receipt_id: str
    lookup_token: bytes
    tipster_public_key: bytes
    kdf: Mapping[str, int]  # {"t": ..., "m": ..., "p": ...} (crypto.Argon2Params.to_dict)
    unit_id: str
    recipient_key_ids: tuple[str, ...]

    KIND = CommandKind.REGISTER_RECEIPT
    FIELDS: ClassVar[dict[str, schema.Check]] = {
        "receipt_id": schema.hex_id, "lookup_token": schema.base64_bytes(32),
        "tipster_public_key": schema.base64_bytes(32), "kdf": _KDF,
        "unit_id": schema.text(schema.MAX_UNIT_ID),
        "recipient_key_ids": schema.array(_key_id, MAX_COMMAND_READERS)}

    def to_wire(self) -> dict[str, Any]:
        """The JSON form (without the command's id and kind)."""
        return {"receipt_id": self.receipt_id, "lookup_token": b64(self.lookup_token),
                "tipster_public_key": b64(self.tipster_public_key), "kdf": dict(self.kdf),
                "unit_id": self.unit_id, "recipient_key_ids": list(self.recipient_key_ids)}

    @classmethod
    def from_wire(cls, value: object, where: str = "command") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`."""
        checked = schema.validate(schema.record(cls.FIELDS), value, where)
        return cls._of(checked, where)

    @classmethod
    def _of(cls, checked: dict[str, Any], where: str) -> Self:
        for name in ("lookup_token", "tipster_public_key"):
            if len(checked[name]) != 32:
                raise schema.Malformed(f"{where}.{name} is not 32 bytes")
        kdf = checked["kdf"]
        if kdf["m"] < 8 * kdf["p"]:  # Argon2's own rule (crypto.Argon2Params)
            raise schema.Malformed(f"{where}.kdf has too little memory for its parallelism")
        if len(set(checked["recipient_key_ids"])) != len(checked["recipient_key_ids"]):
            raise schema.Malformed(f"{where}.recipient_key_ids lists a key twice")
        return cls(**{**checked, "recipient_key_ids": tuple(checked["recipient_key_ids"])})


@dataclass(frozen=True)
class DialogueForget:
    """Forget a receipt's dialogue at intake (retention: its case was purged)."""

    receipt_id: str

    KIND = CommandKind.FORGET_DIALOGUE
    FIELDS: ClassVar[dict[str, schema.Check]] = {"receipt_id": schema.hex_id}

    def to_wire(self) -> dict[str, Any]:
        """The JSON form (without the command's id and kind)."""
        return {"receipt_id": self.receipt_id}

    @classmethod
    def from_wire(cls, value: object, where: str = "command") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`."""
        return cls._of(schema.validate(schema.record(cls.FIELDS), value, where), where)

    @classmethod
    def _of(cls, checked: dict[str, Any], _where: str) -> Self:
        return cls(**checked)


Command = ReceiptRegistration | DialogueForget
_COMMANDS: dict[str, type[ReceiptRegistration] | type[DialogueForget]] = {
    CommandKind.REGISTER_RECEIPT: ReceiptRegistration,
    CommandKind.FORGET_DIALOGUE: DialogueForget}


@dataclass(frozen=True)
class CommandItem:
    """One command on the wire: ``{"id": ..., "kind": ..., <the command's fields>}``.

    The id is casework's (its ``IntakeCommand`` row): intake answers by it.
    """

    command_id: str
    command: Command

    def to_wire(self) -> dict[str, Any]:
        """The JSON form."""
        return {"id": self.command_id, "kind": self.command.KIND.value,
                **self.command.to_wire()}

    @classmethod
    def from_wire(cls, value: object, where: str = "command") -> Self:
        """Parse and check the JSON form, or :class:`common.sync_schema.Malformed`: an
        unknown kind, a missing or extra field, a bad value."""
        if not isinstance(value, dict):
            raise schema.Malformed(f"{where} is not an object")
        kind = schema.one_of(_COMMANDS)(value.get("kind"), f"{where}.kind")
        command_type = _COMMANDS[kind]
        checked = schema.validate(schema.record(
            {"id": schema.hex_id, "kind": schema.text(schema.MAX_KIND),
             **command_type.FIELDS}), value, where)
        command_id = checked.pop("id")
        del checked["kind"]
        return cls(command_id, command_type._of(checked, where))


MAX_COMMANDS = 1_000  # a hard ceiling per request or bundle; intake's batch limit is lower


def _refused_command(value: object, where: str) -> dict[str, str]:
    checked: dict[str, str] = schema.validate(schema.record(
        {"id": schema.hex_id, "reason": schema.one_of(set(CommandRefusal))}), value, where)
    return checked


def _unchecked(value: object, _where: str) -> object:
    """An item checked later, one by one (see ``RESPONSES``)."""
    return value


# --- The sync's requests (casework → intake's sync app) and answers ----------------------
#
# Each is checked whole before anything acts on it (all or nothing): a push with one bad
# item stores nothing. Only a pull answer's items are left unchecked here: casework
# parses them one by one (:meth:`TipsterItem.from_wire`), so that one malformed item is
# skipped without holding up the rest.

REQUESTS: dict[SyncPurpose, schema.Check] = {
    SyncPurpose.PULL: schema.record({"batch": schema.integer(1, schema.MAX_ITEMS)}),
    SyncPurpose.FETCH: schema.record({"envelope_id": schema.hex_id}),
    SyncPurpose.ACK: schema.record({"envelope_ids": schema.array(schema.hex_id,
                                                                 schema.MAX_ITEMS)}),
    SyncPurpose.PUSH: schema.record({"items": schema.array(ReplyItem.from_wire,
                                                           schema.MAX_ITEMS)}),
    SyncPurpose.COMMAND: schema.record({"commands": schema.array(CommandItem.from_wire,
                                                                 MAX_COMMANDS)}),
}

RESPONSES: dict[SyncPurpose, schema.Check] = {
    SyncPurpose.PULL: schema.record({"items": schema.array(_unchecked, schema.MAX_ITEMS)}),
    SyncPurpose.FETCH: schema.record({"envelope_id": schema.hex_id,
                                      "size": schema.integer(0, 2**62),
                                      "sha256": schema.sha256_hex}),
    SyncPurpose.ACK: schema.record({"deleted": schema.integer(0, schema.MAX_ITEMS)}),
    SyncPurpose.PUSH: schema.record({"stored": schema.array(schema.hex_id, schema.MAX_ITEMS),
                                     "refused": schema.array(schema.hex_id,
                                                             schema.MAX_ITEMS)}),
    # Refused commands carry a reason code (CommandRefusal), so casework can log why.
    SyncPurpose.COMMAND: schema.record({
        "applied": schema.array(schema.hex_id, MAX_COMMANDS),
        "refused": schema.array(_refused_command, MAX_COMMANDS)}),
}


# --- What the tipster's dialogue holds ---------------------------------------------------
#
# Sealed to the tipster key (and, for replies, to the case's readers). The tipster's
# browser never runs code, so these are rendered by intake as escaped text.


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
