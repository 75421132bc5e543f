"""Commands casework queues for intake: register an oral report's receipt, forget a
dialogue whose case was purged.

Each is a row (:class:`~casework.models.IntakeCommand`) written in the unit of work of the
action that needs it, so the command exists exactly when the action committed; the bridge
delivers waiting commands at the next cycle (at least once: intake applies each
idempotently) and stamps ``delivered_at``. The payload is the command's wire form (see
``common.contract``): ids, a lookup token and public keys, never a receipt code, never
content.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

import crypto
from common.contract import CommandItem, DialogueForget, ReceiptRegistration
from common.sync_schema import Malformed
from common.unit_of_work import emit_on

from ..events import IntakeCommandsDelivered
from ..models import Case, IntakeCommand, IntakeCommandKind
from ..models.base import utcnow
from ..services import Casework

log = logging.getLogger("lykta.casework.bridge")


def _queue(session: Session, case: Case,
           command: ReceiptRegistration | DialogueForget) -> IntakeCommand:
    """Store ``command`` in its one wire form (``common.contract``), to be sent as is."""
    row = IntakeCommand(kind=command.KIND.value, case_id=case.id,
                        payload=json.dumps(command.to_wire(), sort_keys=True,
                                           separators=(",", ":")))
    session.add(row)
    return row


def register_receipt(session: Session, case: Case, *, lookup_token: bytes,
                     params: crypto.Argon2Params,
                     recipient_key_ids: Sequence[bytes]) -> IntakeCommand:
    """Queue the registration of ``case``'s receipt at intake (an oral report).

    Intake stores it as it stores a receipt of its own: the lookup token the code derives
    to (under ``params``), the tipster's public key, the unit, and the key ids a follow-up
    is sealed to; the reporter then signs in at intake like anyone else.
    """
    return _queue(session, case, ReceiptRegistration(
        receipt_id=case.intake_receipt_id, lookup_token=lookup_token,
        tipster_public_key=case.tipster_public_key, kdf=params.to_dict(),
        unit_id=case.unit_id,
        recipient_key_ids=tuple(key_id.hex() for key_id in recipient_key_ids)))


def forget_dialogue(session: Session, case: Case) -> IntakeCommand:
    """Queue the removal of ``case``'s dialogue at intake (retention: the case is purged)."""
    return _queue(session, case, DialogueForget(receipt_id=case.intake_receipt_id))


# --- Delivery (casework/bridge/cycle.py over HTTP, casework/bridge/bundles.py as files) ---


def _superseded() -> Any:
    """A registration whose case has a forget queued after it: never sent (forgetting is
    all that is left to do), and stamped delivered with that forget."""
    forget = aliased(IntakeCommand)
    return and_(IntakeCommand.kind == IntakeCommandKind.REGISTER_RECEIPT.value,
                exists().where(forget.case_id == IntakeCommand.case_id,
                               forget.kind == IntakeCommandKind.FORGET_DIALOGUE.value))


def _item(row: IntakeCommand) -> CommandItem | None:
    try:
        return CommandItem.from_wire({**json.loads(row.payload), "id": row.id,
                                      "kind": row.kind}, "queued command")
    except (ValueError, TypeError, Malformed) as exc:
        # Never sent: intake would refuse the whole batch for it. Logged by id and field.
        log.error("bridge: command %s cannot be sent: %s", row.id, exc)
        return None


def pending_commands(casework: Casework, limit: int,
                     skip: Collection[str] = ()) -> tuple[list[CommandItem], dt.datetime | None]:
    """Commands not yet delivered, oldest first, at most ``limit`` (but ``skip``: ones
    intake refused in this cycle); and the newest one's time (for a bundle)."""
    # A unit of its own that only reads (it commits nothing and emits nothing).
    with casework.unit() as unit:
        query = (select(IntakeCommand).where(IntakeCommand.delivered_at.is_(None),
                                             ~_superseded())
                 .order_by(IntakeCommand.created_at, IntakeCommand.id))
        if skip:
            query = query.where(IntakeCommand.id.not_in(list(skip)))
        rows = list(unit.session.scalars(query.limit(limit)))
        if rows:
            # Commands of the same moment as the last one go too: a bundle's time then
            # names every command it carries (see confirm_from_bundle).
            rows += unit.session.scalars(query.where(
                IntakeCommand.created_at == rows[-1].created_at,
                IntakeCommand.id.not_in([row.id for row in rows])))
    items = [item for item in map(_item, rows) if item is not None]
    return items, (rows[-1].created_at if rows else None)


def mark_commands_delivered(casework: Casework, command_ids: Iterable[str]) -> tuple[int, int]:
    """Intake applied these: stamp them (only those not stamped yet), in a unit that tells
    the audit log how many (registered, forgotten) this call delivered.

    The stamp is a conditional update, so two cycles delivering the same command at once
    count it once: the second finds it stamped.
    """
    ids = list(command_ids)
    if not ids:
        return 0, 0
    with casework.unit() as unit:
        session = unit.session
        now = utcnow()
        rows = session.execute(
            update(IntakeCommand)
            .where(IntakeCommand.id.in_(ids), IntakeCommand.delivered_at.is_(None))
            .values(delivered_at=now)
            .returning(IntakeCommand.kind, IntakeCommand.case_id)).all()
        forgotten_cases = [case_id for kind, case_id in rows
                           if kind == IntakeCommandKind.FORGET_DIALOGUE.value and case_id]
        if forgotten_cases:
            # Registrations a forget made moot: done with it (they were never sent after).
            session.execute(update(IntakeCommand).where(
                IntakeCommand.case_id.in_(forgotten_cases),
                IntakeCommand.kind == IntakeCommandKind.REGISTER_RECEIPT.value,
                IntakeCommand.delivered_at.is_(None)).values(delivered_at=now))
        registered = sum(kind == IntakeCommandKind.REGISTER_RECEIPT.value for kind, _ in rows)
        forgotten = len(rows) - registered
        if rows:
            emit_on(session, IntakeCommandsDelivered(registered, forgotten))
    return registered, forgotten


def confirm_from_bundle(casework: Casework, receipts: Collection[str] | None,
                        as_of: dt.datetime | None) -> tuple[int, int]:
    """Stamp the commands intake's bundle shows applied (air-gap mode).

    Intake keeps no list of command ids; its bundle lists every receipt it holds and the
    newest command time it applied from a bundle (casework's clock). Each bundle carries
    every waiting command up to its time, so a command no newer than that time was
    applied: a registration took if its receipt is listed (if not, intake refused it: it
    waits and goes again), a forget took if its receipt is gone.
    """
    if receipts is None or as_of is None:
        return 0, 0
    held = set(receipts)
    with casework.unit() as unit:
        rows = list(unit.session.scalars(select(IntakeCommand).where(
            IntakeCommand.delivered_at.is_(None), IntakeCommand.created_at <= as_of)))
    done = []
    for row in rows:
        item = _item(row)
        if isinstance(item, CommandItem):
            command = item.command
            if (isinstance(command, ReceiptRegistration) and command.receipt_id in held) or (
                    isinstance(command, DialogueForget) and command.receipt_id not in held):
                done.append(row.id)
    return mark_commands_delivered(casework, done)
