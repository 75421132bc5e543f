"""The envelopes that cross the bridge, in their one wire form.

Frozen dataclasses with ONE wire form (JSON with bytes in standard base64), used alike by
the HTTP sync and the air-gap bundles: a tipster's envelope on its way to casework
(:class:`TipsterItem`, and :class:`BundledTipsterItem` with its body), and casework's
reply on its way to the tipster (:class:`ReplyItem`). Parsing a wire form checks it
strictly (with the primitives of ``common.sync_schema``): a signature says who sent a
message, not that it is well formed. Refusals name the field, never its value. Apart from
the commands (:mod:`common.contract.commands`), which are casework's requests of intake
rather than envelopes, and from the tables that check a whole request or answer
(:mod:`common.contract.sync`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Self

from .. import sync_schema as schema
from .terms import TO_TIPSTER_KINDS, EnvelopeKind


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
