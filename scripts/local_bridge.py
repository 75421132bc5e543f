"""An in-process stand-in for the signed bridge, for tests and benchmarks.

It moves exactly what the signed bridge will move (intake's outbox to casework, then
acknowledgements back; casework's commands and sealed replies to intake), by calling both apps'
domain functions in one process. It is not used by either app.
"""

from __future__ import annotations

from casework.bridge.commands import mark_commands_delivered, pending_commands
from casework.bridge.imports import Incoming, import_envelopes
from casework.bridge.pushes import mark_delivered, pending_pushes
from casework.services import Casework
from common.contract import CommandItem, ReplyItem, TipsterItem
from intake.bridge.commands import apply_commands
from intake.bridge.outbox import accept_for_tipster, acknowledge, outbox
from intake.services import Intake


def sync_once(intake: Intake, casework: Casework, batch: int = 100) -> tuple[int, int]:
    """Pull, import, acknowledge, push; return (envelopes imported, replies pushed)."""
    # Through the one wire form, as the signed bridge does: what intake writes is what
    # casework parses, and the reverse.
    items = [Incoming.of(TipsterItem.from_wire(o.item().to_wire()), o.body_path)
             for o in outbox(intake, batch)]
    stored = import_envelopes(casework, items)
    acknowledge(intake, stored)
    # Casework's commands before its replies, as the signed cycle does (a registered
    # receipt is there for the minutes pushed next).
    commands, _ = pending_commands(casework, 1000)
    outcome = apply_commands(intake, [CommandItem.from_wire(c.to_wire()) for c in commands])
    mark_commands_delivered(casework, outcome.applied)
    pushed = []
    for item in pending_pushes(casework):
        accept_for_tipster(intake, ReplyItem.from_wire(item.to_wire()))
        pushed.append(item.envelope_id)
    mark_delivered(casework, pushed)
    return len(stored), len(pushed)
