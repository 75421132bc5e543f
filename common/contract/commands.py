"""Casework's commands for intake, in their one wire form.

Beyond replies, casework asks intake for two things: to register the receipt of an oral
report (so the reporter can sign in at intake like anyone else) and to forget a purged
case's dialogue. Both carry ids, a lookup token and public keys: never a receipt code,
never content. Intake applies each idempotently (delivery is at least once). A command
is an instruction with its own kinds, refusals and limits, not an envelope, so it is
apart from :mod:`common.contract.items`; the sync's table for the command request and
its answer is in :mod:`common.contract.sync`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Self

from .. import sync_schema as schema
from .items import b64


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
