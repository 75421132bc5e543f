"""One bridge cycle: pull → fetch → import (commit) → ack → commands → push → mark delivered.

Import is idempotent and acknowledgement comes only after the envelopes are committed
here, so a crash at any step loses nothing and duplicates nothing (delivery is
at-least-once; duplicates are recognised by envelope id). Intake is trusted for delivery
only (threat-model.md, 6.11): every answer is checked against its schema before it is
used (``casework/bridge/client.py``), every item is parsed as the contract's
:class:`~common.contract.TipsterItem`, and every item is imported as the tipster's,
whatever it claims (``casework/bridge/imports.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

import crypto
from common.contract import TipsterItem
from common.db import upsert
from common.sync_schema import Malformed
from common.unit_of_work import emit_on

from ..events import BridgeCycleCompleted
from ..models import BridgeState
from ..models.base import utcnow
from ..services import Casework
from .client import BridgeError, IntakeClient, tls_context
from .commands import mark_commands_delivered, pending_commands
from .imports import Incoming, import_from_intake
from .pushes import mark_delivered, pending_pushes

log = logging.getLogger("lykta.casework.bridge")


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did."""

    imported: int
    acknowledged: int
    pushed: int


def client_for(casework: Casework) -> IntakeClient:
    """The client configured in casework.json (URL, pinned intake key, our signing key)."""
    config = casework.config
    if not config.intake_sync_url or not config.intake_verify_key:
        raise BridgeError("casework.json has no intake_sync_url / intake_verify_key")
    seed = config.signing_key_path.read_bytes()
    return IntakeClient(config.intake_sync_url, crypto.SigningKey.from_seed(seed),
                        crypto.VerifyKey(config.intake_verify_key),
                        tls=tls_context(config.intake_sync_ca_path,
                                        config.intake_sync_client_cert_path))


def run_cycle(casework: Casework, client: IntakeClient, batch: int = 50) -> CycleReport:
    """Pull → fetch → import (commit) → ack → commands → push → mark delivered.

    Nothing intake answers can crash the cycle half way: a malformed answer as a whole
    is a :class:`BridgeError` before anything is changed (the next cycle retries), and one
    malformed or unfetchable item is logged, counted and skipped without holding up the
    rest. Acknowledgement always follows the import's commit, so nothing is lost.
    """
    items = client.pull(batch)
    spool = casework.store.incoming_dir
    fetched: list[Incoming] = []
    skipped = 0
    try:
        for raw in items:
            try:
                item = TipsterItem.from_wire(raw, "pull item")
            except Malformed as exc:
                # Not acknowledged: an honest intake never sends it, and without a valid id
                # there is nothing to acknowledge; logged by field, never by value.
                log.warning("bridge: skipped a malformed item: %s", exc)
                skipped += 1
                continue
            path = spool / f"fetch-{secrets.token_hex(8)}"
            try:
                client.fetch(item.envelope_id, path)
            except BridgeError as exc:
                # Skipped, not acknowledged: it waits at intake (too large: for an operator;
                # anything else: for the next cycle), and the rest of the batch goes on.
                log.warning("bridge: %s", exc)
                path.unlink(missing_ok=True)
                skipped += 1
                continue
            fetched.append(Incoming.of(item, path))
        outcome = import_from_intake(casework, fetched)
    finally:
        for incoming in fetched:
            incoming.body_path.unlink(missing_ok=True)
    if skipped:
        log.warning("bridge: skipped %d of %d items in this pull", skipped, len(items))
    stored = outcome.acknowledge
    acknowledged = client.ack(stored) if stored else 0
    # Commands before replies: a receipt registered now is there for the minutes pushed
    # next (intake refuses a push for a receipt it does not have, and for good).
    deliver_commands(casework, client, batch)
    delivered = 0
    # In batches: intake refuses a push of more items than its batch limit, and bodies
    # are held in memory only one batch at a time.
    while outgoing := pending_pushes(casework, limit=batch):
        done, refused = client.push(outgoing)
        if refused:
            # Intake will never store these (its receipt is gone, say): stop pushing them
            # rather than send them in every cycle. Logged by count.
            log.warning("bridge: intake refused %d replies for good", len(refused))
        mark_delivered(casework, [*done, *refused])
        delivered += len(done)
        if len(done) + len(refused) < len(outgoing):
            break  # intake stored only part: the rest waits for the next cycle
    # A unit of its own: the bridge's health (shown on the home page and by `bridge
    # status`), and the cycle's counts for the audit log; what the cycle did to each case
    # is told by each item's unit (CaseOpened, ItemImported, AcknowledgedAutomatically).
    with casework.unit() as unit:
        _mark_success(unit.session)
        emit_on(unit.session, BridgeCycleCompleted("online", len(stored), acknowledged,
                                                   delivered, skipped))
    return CycleReport(len(stored), acknowledged, delivered)


def _mark_success(session: Session) -> None:
    """Stamp the bridge's last success, atomically (an upsert).

    Two cycles on two rq workers may end at once; a read-then-insert would let both see no
    row and the second insert fail its whole cycle (CI saw it on PostgreSQL).
    """
    now = utcnow()
    session.execute(upsert(session, BridgeState, {"name": "last_success", "at": now},
                           key=[BridgeState.__table__.c.name], update={"at": now}))


def deliver_commands(casework: Casework, client: IntakeClient, batch: int = 50) -> int:
    """Deliver waiting commands, oldest first, in batches; return how many were applied.

    Only what intake answers as applied is stamped delivered (with the audit event, in a
    unit per batch). A refused command stays waiting (it goes again next cycle, and an
    operator sees it in the log, by id and reason code) and is skipped for the rest of
    this cycle, so that refused ones at the head of the queue hold up nothing behind them.
    """
    applied_count = 0
    refused: set[str] = set()
    while True:
        items, _ = pending_commands(casework, batch, skip=refused)
        if not items:
            break
        applied, refusals = client.command(items)
        for command_id, reason in refusals:
            log.warning("bridge: intake refused command %s: %s", command_id, reason)
            refused.add(command_id)
        mark_commands_delivered(casework, applied)
        applied_count += len(applied)
        if len(applied) + len(refusals) < len(items):
            break  # intake answered for only part: the rest waits for the next cycle
    return applied_count


def last_success(session: Session) -> dt.datetime | None:
    """When a cycle last completed (None: never), read in the caller's unit of work."""
    state = session.get(BridgeState, "last_success")
    return state.at if state else None


def sync_is_stale(casework: Casework, session: Session,
                  now: dt.datetime | None = None) -> bool:
    """True when a bridge is configured and has not completed a cycle for too long."""
    if not casework.config.intake_sync_url:
        return False
    last = last_success(session)
    current = now or utcnow()
    limit = dt.timedelta(seconds=casework.config.sync_warn_after_seconds)
    return last is None or current - last > limit
