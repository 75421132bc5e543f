"""An in-process stand-in for the signed bridge, for tests and benchmarks.

It moves exactly what the signed bridge will move (intake's outbox to casework, then
acknowledgements back; casework's sealed replies to intake), by calling both apps'
domain functions in one process. It is not used by either app.
"""

from __future__ import annotations

from casework.intake_import import Incoming, import_envelopes, mark_delivered, pending_pushes
from casework.services import Casework
from intake.outbox import accept_for_tipster, acknowledge, outbox
from intake.services import Intake


def sync_once(intake: Intake, casework: Casework, batch: int = 100) -> tuple[int, int]:
    """Pull, import, acknowledge, push; return (envelopes imported, replies pushed)."""
    items = [Incoming(o.envelope_id, o.receipt_id, o.kind, o.header, o.body_path,
                      o.tipster_public_key, o.unit_id) for o in outbox(intake, batch)]
    stored = import_envelopes(casework, items)
    acknowledge(intake, stored)
    pushed = []
    for item in pending_pushes(casework):
        accept_for_tipster(intake, item.receipt_id, envelope_id=item.envelope_id,
                           kind=item.kind, header=item.header, body=item.body)
        pushed.append(item.envelope_id)
    mark_delivered(casework, pushed)
    return len(stored), len(pushed)
