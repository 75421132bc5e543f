"""What intake holds for casework, and what casework sends back: the intake side of sync.

The bridge (issue 5) wraps these functions in signed pull/ack/push messages; until then
the demo and the tests call them in-process. Nothing here decrypts anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select

from common.db import Database
from common.storage import EnvelopeStore

from .errors import UnknownReceipt
from .models import ReceiptRecord, StoredEnvelope
from .sealing import PendingEnvelopes


class Holdings(Protocol):
    """What these functions need: the database and the envelope store (an ``Intake``)."""

    db: Database
    store: EnvelopeStore


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


def outbox(intake: Holdings, limit: int = 100) -> Iterator[OutboundEnvelope]:
    """Envelopes for casework not yet acknowledged, reports first within a receipt."""
    with intake.db.session() as session:
        rows = session.execute(
            select(StoredEnvelope, ReceiptRecord)
            .join(ReceiptRecord, StoredEnvelope.receipt_id == ReceiptRecord.id)
            .where(StoredEnvelope.audience == "casework")
            .order_by(StoredEnvelope.receipt_id, StoredEnvelope.kind != "report")
            .limit(limit)
        ).all()
    for envelope, receipt in rows:
        yield OutboundEnvelope(envelope.id, receipt.id, envelope.kind, envelope.header,
                               intake.store.root / envelope.id, receipt.tipster_public_key,
                               receipt.unit_id)


def acknowledge(intake: Holdings, envelope_ids: Sequence[str]) -> int:
    """Casework has stored these: delete intake's copies (idempotent); return how many."""
    with intake.db.session() as session:
        result = session.execute(delete(StoredEnvelope).where(
            StoredEnvelope.id.in_(list(envelope_ids)), StoredEnvelope.audience == "casework"))
    for envelope_id in envelope_ids:
        intake.store.delete(envelope_id)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def accept_for_tipster(intake: Holdings, receipt_id: str, *, envelope_id: str, kind: str,
                       header: bytes, body: bytes) -> None:
    """Store an envelope that casework sealed to the tipster key (reply or status).

    Idempotent: pushing the same envelope twice stores it once.
    """
    with intake.db.session() as session:
        if session.get(ReceiptRecord, receipt_id) is None:
            raise UnknownReceipt()
        if session.get(StoredEnvelope, envelope_id) is not None:
            return
        pending = PendingEnvelopes(intake.store)
        try:
            pending.store_sealed(session, receipt_id=receipt_id, audience="tipster", kind=kind,
                                 envelope_id=envelope_id, header=header, body=body)
            pending.commit_all()
        except BaseException:
            pending.rollback()
            raise
