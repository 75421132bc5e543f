"""What casework hands back to intake for the tipster: sealed replies and status updates.

A reply or status is sealed to the tipster key and the case's readers, kept with
``delivered`` false, and pushed (over HTTP by ``casework/bridge/cycle.py``, or in an
air-gap bundle by ``casework/bridge/bundles.py``) as the contract's
:class:`~common.contract.ReplyItem` until intake confirms it stored it.

Each function here that touches the database runs in a unit of work of its own
(``casework.unit()``); only the automatic acknowledgement is a domain fact
(:class:`~casework.events.AcknowledgedAutomatically`, emitted in the import's unit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

import crypto
from common.contract import Author, DialogueMessage, EnvelopeKind, ReplyItem, Stage
from common.unit_of_work import emit_on

from ..events import AcknowledgedAutomatically
from ..models import Case, CaseEnvelope, IntakeCommand, IntakeCommandKind
from ..readers import reader_keys
from ..sealing import seal_item
from ..services import Casework


def acknowledge_automatically(casework: Casework, session: Session, case: Case) -> None:
    """The automatic reply on arrival: it is the legal acknowledgement (within 7 days)."""
    config = casework.config
    text = f"{config.acknowledgement_sv}\n\n{config.acknowledgement_en}"
    # The reply also carries the new stage, so the tipster's status changes with it.
    reply = DialogueMessage(author=Author.REVIEWER, text=text, automatic=True,
                            stage=Stage.ACKNOWLEDGED)
    envelope_id = seal_for_tipster(casework, session, case, kind=EnvelopeKind.MESSAGE,
                                   payload=reply.to_json())
    case.acknowledged_on = dt.datetime.now(dt.UTC).date()
    case.stage = Stage.ACKNOWLEDGED.value
    emit_on(session, AcknowledgedAutomatically(case.id, envelope_id))


def seal_for_tipster(casework: Casework, session: Session, case: Case, *, kind: EnvelopeKind,
                     payload: dict[str, object]) -> str:
    """Seal a message of casework's own (no staff author) to the tipster and the case's
    readers; queue it for push."""
    recipients = [crypto.PublicKey(case.tipster_public_key),
                  *reader_keys(session, casework.config, case)]
    return seal_item(casework, session, case, kind=kind, document=payload,
                     recipients=recipients, author_id=None, for_tipster=True)


# What casework pushes: replies, status updates and the minutes of an oral report.
PUSHED_KINDS = frozenset({EnvelopeKind.MESSAGE, EnvelopeKind.STATUS, EnvelopeKind.MINUTES})


def pending_pushes(casework: Casework, limit: int | None = None) -> list[ReplyItem]:
    """Replies, status updates and minutes not yet confirmed delivered, oldest first.

    An oral report's items wait until intake has its receipt (the register command is
    delivered): pushed before, intake would refuse them for an unknown receipt, and a
    refused push is never tried again.
    """
    unregistered = exists().where(
        IntakeCommand.case_id == Case.id,
        IntakeCommand.kind == IntakeCommandKind.REGISTER_RECEIPT.value,
        IntakeCommand.delivered_at.is_(None))
    # A unit of its own that only reads (it commits nothing and emits nothing).
    with casework.unit() as unit:
        session = unit.session
        query = (select(CaseEnvelope, Case.intake_receipt_id)
                 .join(Case, CaseEnvelope.case_id == Case.id)
                 .where(CaseEnvelope.delivered.is_(False),
                        CaseEnvelope.kind.in_([k.value for k in PUSHED_KINDS]),
                        ~unregistered)
                 .order_by(CaseEnvelope.created_at, CaseEnvelope.id))
        rows = session.execute(query if limit is None else query.limit(limit)).all()
        out = []
        for envelope, receipt_id in rows:
            with casework.store.open(envelope.body_name) as body:
                out.append(ReplyItem(receipt_id=receipt_id, envelope_id=envelope.id,
                                     kind=EnvelopeKind(envelope.kind), header=envelope.header,
                                     body=body.read()))
    return out


def mark_delivered(casework: Casework, envelope_ids: Iterable[str]) -> None:
    """Intake confirmed it stored these."""
    # A unit of its own, emitting nothing: delivery is the bridge's bookkeeping, not a
    # domain fact: the reply was recorded when it was sealed (ReplySent, or
    # AcknowledgedAutomatically), and intake's confirmation is retried and idempotent (a
    # replayed bundle confirms again), so an event here would audit nothing new.
    with casework.unit() as unit:
        session = unit.session
        for envelope_id in envelope_ids:
            envelope = session.get(CaseEnvelope, envelope_id)
            if envelope is not None:
                envelope.delivered = True
