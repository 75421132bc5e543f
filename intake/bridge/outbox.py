"""What intake holds for casework, and what casework sends back: the intake side of sync.

The sync app (``intake/bridge/sync.py``) wraps these functions in signed pull/ack/push
messages, the bundle commands (``intake/cli.py``) in air-gap files, and the tests'
in-process bridge (``scripts/local_bridge.py``) calls them directly. What crosses is
always the contract's items (``common.contract``). Nothing here decrypts anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

import crypto
from common.contract import TO_TIPSTER_KINDS, Audience, EnvelopeKind, ReplyItem, TipsterItem
from common.db import Database
from common.storage import EnvelopeStore, is_envelope_id

from ..models import ReceiptRecord, StoredEnvelope
from ..sealing import store_sealed


class Holdings(Protocol):
    """What these functions need: the database and the envelope store (an ``Intake``)."""

    # Read-only members, so that the sync app's frozen holdings satisfy the protocol too.
    @property
    def db(self) -> Database:
        """The intake database."""

    @property
    def store(self) -> EnvelopeStore:
        """The envelope store."""


@dataclass(frozen=True)
class OutboundEnvelope:
    """A sealed envelope waiting for casework, with what routes it."""

    envelope_id: str
    receipt_id: str
    kind: str
    header: bytes
    body_path: Path
    tipster_public_key: bytes
    unit_id: str
    body_size: int

    def item(self) -> TipsterItem:
        """What casework is told of it (the body travels separately, or in a bundle)."""
        return TipsterItem(envelope_id=self.envelope_id, receipt_id=self.receipt_id,
                           kind=self.kind, header=self.header, body_size=self.body_size,
                           tipster_public_key=self.tipster_public_key, unit_id=self.unit_id)


class PushRefused(Exception):
    """Casework pushed something intake will never store; the message says why (no content)."""


def outbox(intake: Holdings, limit: int = 100) -> Iterator[OutboundEnvelope]:
    """Envelopes for casework not yet acknowledged, reports first within a receipt."""
    with intake.db.session() as session:
        rows = session.execute(
            select(StoredEnvelope, ReceiptRecord)
            .join(ReceiptRecord, StoredEnvelope.receipt_id == ReceiptRecord.id)
            .where(StoredEnvelope.audience == Audience.CASEWORK)
            .order_by(StoredEnvelope.receipt_id, StoredEnvelope.kind != EnvelopeKind.REPORT)
            .limit(limit)
        ).all()
    for envelope, receipt in rows:
        yield OutboundEnvelope(envelope.id, receipt.id, envelope.kind, envelope.header,
                               intake.store.root / envelope.id, receipt.tipster_public_key,
                               receipt.unit_id, envelope.body_size)


def acknowledge(intake: Holdings, envelope_ids: Sequence[str]) -> int:
    """Casework has stored these: delete intake's copies (idempotent); return how many.

    All or nothing: every id is checked before anything is deleted. Only rows of the
    casework audience are deleted, and only their bodies: an id of the tipster's dialogue
    (a reply, the tipster's own copy) names a row that stays, and deleting its body
    would leave that dialogue unreadable for good.
    """
    ids = list(envelope_ids)
    if not all(is_envelope_id(envelope_id) for envelope_id in ids):
        raise ValueError("invalid envelope id")
    if not ids:
        return 0
    with intake.db.session() as session:
        doomed = list(session.scalars(select(StoredEnvelope.id).where(
            StoredEnvelope.id.in_(ids), StoredEnvelope.audience == Audience.CASEWORK)))
        if doomed:
            session.execute(delete(StoredEnvelope).where(StoredEnvelope.id.in_(doomed)))
    # Bodies go only after the rows' deletion is committed: a crash in between leaves an
    # orphan body (swept at start-up), never a row without its body.
    for envelope_id in doomed:
        intake.store.delete(envelope_id)
    return len(doomed)


def accept_for_tipster(intake: Holdings, item: ReplyItem) -> None:
    """Store an envelope that casework sealed to the tipster key (reply or status).

    Idempotent: pushing the same envelope twice stores it once. Raises
    :class:`PushRefused` for what can never be stored (an unknown receipt, a kind casework
    does not send, parts that do not belong together).
    """
    receipt_id, envelope_id, kind = item.receipt_id, item.envelope_id, item.kind
    if kind not in TO_TIPSTER_KINDS or not is_envelope_id(envelope_id):
        raise PushRefused("not a kind or id casework sends")
    try:
        with intake.db.session() as session:
            if session.get(ReceiptRecord, receipt_id) is None:
                raise PushRefused("unknown receipt")
            if session.get(StoredEnvelope, envelope_id) is not None:
                return
            try:
                store_sealed(session, intake.store, receipt_id=receipt_id,
                             audience=Audience.TIPSTER, kind=kind, envelope_id=envelope_id,
                             header=item.header, body=item.body)
            except crypto.CryptoError as exc:
                raise PushRefused("the envelope's parts do not belong together") from exc
    except IntegrityError:
        # Two pushes of the same reply at once (two casework workers): the other one's row
        # is committed and names the same body (same id, same bytes), which stays. The
        # push is idempotent, so this one is stored too, not a 500.
        with intake.db.session() as session:
            if session.get(StoredEnvelope, envelope_id) is None:
                raise
