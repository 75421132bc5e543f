"""Casework's commands, applied at intake: register a receipt, forget a dialogue.

The sync app (``intake/bridge/sync.py``) applies the commands of a signed ``command``
request, the bundle import (``intake/cli.py``) those of casework's bundle, and the tests'
in-process bridge (``scripts/local_bridge.py``) calls :func:`apply_command` directly.
Each command is applied in a transaction of its own (one refused command does not undo
the others) and idempotently: casework delivers at least once, so the same command again
is answered "applied" and changes nothing. Nothing here decrypts anything.

Only casework's signing key can sign a command (threat-model.md, "Commands from casework
to intake"): intake checks the signature before it gets here, and never takes a command
from a tipster's request.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.contract import (
    CommandItem,
    CommandRefusal,
    DialogueForget,
    ReceiptRegistration,
)

from ..models import ReceiptRecord, StoredEnvelope, SyncState
from .outbox import Holdings

# Every sign-in derives once per Argon2 parameter set in use (intake/dialogue.py), so the
# number of sets is the sign-in's cost: a registration may bring at most a few new ones.
MAX_KDF_SETS = 4
# Where the bundle import keeps the newest command time it applied (casework's clock).
BUNDLE_COMMANDS = "bundle_commands"


class CommandRefused(Exception):
    """A command intake will never apply; ``reason`` is a code, never a value."""

    def __init__(self, reason: CommandRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Applied:
    """What a batch of commands came to: ids applied, and (id, reason) refused."""

    applied: list[str]
    refused: list[tuple[str, CommandRefusal]]


def _kdf_json(registration: ReceiptRegistration) -> str:
    # The same text intake writes for its own receipts (intake/reporting.py), so that a
    # registered receipt shares its parameter set with them in the sign-in's lookup.
    return json.dumps(dict(registration.kdf), sort_keys=True)


def _readers_json(registration: ReceiptRegistration) -> str:
    # The shape of intake/reporting.py's recipient_ids_json: no exclusions (an oral
    # report names its readers at casework, which sends only those it may read).
    return json.dumps({"readers": list(registration.recipient_key_ids), "excluded": []})


def _same(record: ReceiptRecord, registration: ReceiptRegistration) -> bool:
    return (record.lookup_token == registration.lookup_token
            and record.tipster_public_key == registration.tipster_public_key
            and record.kdf == _kdf_json(registration)
            and record.unit_id == registration.unit_id
            and record.recipient_key_ids == _readers_json(registration))


def _check_registration(session: Session, registration: ReceiptRegistration) -> bool:
    """True if already registered with these values (nothing to do); else refuses what
    could never be stored, or says it may be added (False)."""
    record = session.get(ReceiptRecord, registration.receipt_id)
    if record is not None:
        if _same(record, registration):
            return True
        raise CommandRefused(CommandRefusal.CONFLICT)
    # A lookup token or key another receipt has: two receipts would sign in to one
    # dialogue (or one to two). Never overwritten: refused, and casework is told so.
    taken = session.scalar(select(func.count()).select_from(ReceiptRecord).where(or_(
        ReceiptRecord.lookup_token == registration.lookup_token,
        ReceiptRecord.tipster_public_key == registration.tipster_public_key)))
    if taken:
        raise CommandRefused(CommandRefusal.COLLISION)
    in_use = set(session.scalars(select(ReceiptRecord.kdf).distinct()))
    if _kdf_json(registration) not in in_use and len(in_use) >= MAX_KDF_SETS:
        raise CommandRefused(CommandRefusal.KDF_LIMIT)
    return False


def register_receipt(intake: Holdings, registration: ReceiptRegistration) -> None:
    """Store an oral report's receipt as intake stores its own (idempotent).

    Raises :class:`CommandRefused` for a lookup token or key that is another receipt's,
    or a receipt id already registered with other values.
    """
    try:
        with intake.db.session() as session:
            if _check_registration(session, registration):
                return
            session.add(ReceiptRecord(
                id=registration.receipt_id, lookup_token=registration.lookup_token,
                tipster_public_key=registration.tipster_public_key,
                kdf=_kdf_json(registration), unit_id=registration.unit_id,
                recipient_key_ids=_readers_json(registration)))
    except IntegrityError:
        # The same command delivered twice at once (two casework cycles): the other one's
        # row is committed. Applied if it is this registration, else refused as above.
        with intake.db.session() as session:
            if not _check_registration(session, registration):
                raise


def forget_dialogue(intake: Holdings, forget: DialogueForget) -> int:
    """Delete a receipt's envelopes (rows, then bodies) and the receipt (idempotent).

    Both audiences go: the dialogue sealed to the tipster, and anything the tipster sent
    that casework has not pulled yet (its case is purged: nothing may arrive for it).
    Tipster sessions are not linked to receipts (intake/models.py): a session of this
    receipt finds no receipt on its next request and ends there. Returns how many
    envelopes were deleted.
    """
    with intake.db.session() as session:
        doomed = list(session.scalars(select(StoredEnvelope.id).where(
            StoredEnvelope.receipt_id == forget.receipt_id)))
        if doomed:
            session.execute(delete(StoredEnvelope).where(StoredEnvelope.id.in_(doomed)))
        session.execute(delete(ReceiptRecord).where(ReceiptRecord.id == forget.receipt_id))
    # Bodies only after the rows' deletion is committed: a crash in between leaves an
    # orphan body (swept at start-up), never a row without its body.
    for envelope_id in doomed:
        intake.store.delete(envelope_id)
    return len(doomed)


def apply_command(intake: Holdings, item: CommandItem) -> None:
    """Apply one command (in a transaction of its own), or :class:`CommandRefused`."""
    if isinstance(item.command, ReceiptRegistration):
        register_receipt(intake, item.command)
    else:
        forget_dialogue(intake, item.command)


def apply_commands(intake: Holdings, items: list[CommandItem]) -> Applied:
    """Apply each command in order; a refused one does not stop the rest."""
    applied: list[str] = []
    refused: list[tuple[str, CommandRefusal]] = []
    for item in items:
        try:
            apply_command(intake, item)
        except CommandRefused as exc:
            refused.append((item.command_id, exc.reason))
        else:
            applied.append(item.command_id)
    return Applied(applied, refused)


# --- Air-gap bundles: applying only what is newer than what was applied -----------------
#
# A bundle has no nonce intake remembers, and files can be carried out of order or twice:
# a registration in an old bundle, applied after a newer bundle forgot that receipt, would
# bring the receipt back. So intake keeps the newest command time (casework's own clock,
# carried in the bundle) it applied, and applies a bundle's commands only if they are at
# least as new; casework reads that time back in intake's bundle to know what arrived.


def bundle_commands_as_of(intake: Holdings) -> dt.datetime | None:
    """The newest casework command time applied from a bundle (None: none yet)."""
    with intake.db.session() as session:
        state = session.get(SyncState, BUNDLE_COMMANDS)
        return state.at if state is not None else None


def apply_bundle_commands(intake: Holdings, items: list[CommandItem],
                          as_of: dt.datetime | None) -> Applied | None:
    """Apply a bundle's commands unless an applied bundle was newer (then None)."""
    if as_of is None or not items:
        return Applied([], [])
    last = bundle_commands_as_of(intake)
    if last is not None and as_of < last:
        return None
    outcome = apply_commands(intake, items)
    with intake.db.session() as session:
        state = session.get(SyncState, BUNDLE_COMMANDS)
        if state is None:
            session.add(SyncState(name=BUNDLE_COMMANDS, at=as_of))
        elif state.at < as_of:
            state.at = as_of
    return outcome


def receipt_ids(intake: Holdings) -> list[str]:
    """Every receipt intake holds: in its bundle, so casework sees which commands took."""
    with intake.db.session() as session:
        return list(session.scalars(select(ReceiptRecord.id).order_by(ReceiptRecord.id)))
