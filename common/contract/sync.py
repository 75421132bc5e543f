"""The schemas of the HTTP sync's requests (casework → intake's sync app) and answers.

One check per :class:`~common.contract.terms.SyncPurpose`, for each side: the sync app
checks a request with :data:`REQUESTS` before it acts, casework checks an answer with
:data:`RESPONSES`. They are built from the items' and commands' own parsers, so this
module holds only what a whole message adds: its fields, its limits, and which items are
checked at once or later. The air-gap bundles' schemas are in ``common.bundles``.
"""

from __future__ import annotations

from .. import sync_schema as schema
from .commands import MAX_COMMANDS, CommandItem, CommandRefusal
from .items import ReplyItem
from .terms import SyncPurpose


def _refused_command(value: object, where: str) -> dict[str, str]:
    checked: dict[str, str] = schema.validate(schema.record(
        {"id": schema.hex_id, "reason": schema.one_of(set(CommandRefusal))}), value, where)
    return checked


def _unchecked(value: object, _where: str) -> object:
    """An item checked later, one by one (see ``RESPONSES``)."""
    return value


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
