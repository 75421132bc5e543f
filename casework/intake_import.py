"""Taking envelopes from intake into cases, and handing replies back.

This is casework's side of the bridge. Until the signed bridge exists (issue 5) the demo
and the tests feed it intake's outbox in-process; the bridge will feed it verified
messages instead. Import is idempotent: an envelope seen twice is stored once, so
at-least-once delivery never duplicates anything.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.storage import commit_in_transaction

from .models import Case, CaseEnvelope, Stage
from .readers import reader_keys
from .services import Casework

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Incoming:
    """One envelope from intake (what the bridge's pull response will carry)."""

    envelope_id: str
    receipt_id: str
    kind: str
    header: bytes
    body_path: Path
    tipster_public_key: bytes
    unit_id: str


@dataclass(frozen=True)
class Outgoing:
    """A sealed envelope for the tipster, waiting to be pushed to intake."""

    envelope_id: str
    receipt_id: str
    kind: str
    header: bytes
    body: bytes


def new_reference() -> str:
    """A short random case reference for people to quote (not sequential)."""
    return "LY-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def import_envelopes(casework: Casework, items: Iterable[Incoming]) -> list[str]:
    """Store new envelopes (creating cases for new reports); return the ids to acknowledge."""
    done: list[str] = []
    for item in items:
        with casework.db.session() as session:
            if session.get(CaseEnvelope, item.envelope_id) is not None:
                done.append(item.envelope_id)  # a redelivery: acknowledge again
                continue
            case = session.scalar(select(Case).where(Case.intake_receipt_id == item.receipt_id))
            with item.body_path.open("rb") as body:
                routing = crypto.read_body_preamble(body).routing
            if case is None:
                if item.kind != "report":
                    continue  # its report comes first; retry on the next pull
                case = Case(reference=new_reference(), unit_id=item.unit_id,
                            category=routing.get("category", "other"),
                            received_on=dt.datetime.now(dt.UTC).date(),
                            tipster_public_key=item.tipster_public_key,
                            intake_receipt_id=item.receipt_id)
                session.add(case)
                session.flush()
            incoming, file = casework.store.new_incoming()
            with file, item.body_path.open("rb") as source:
                shutil.copyfileobj(source, file)
            session.add(CaseEnvelope(id=item.envelope_id, case_id=case.id, kind=item.kind,
                                     header=item.header, origin="intake",
                                     body_size=item.body_path.stat().st_size))
            commit_in_transaction(session, casework.store, incoming, item.envelope_id)
            if item.kind == "report":
                session.flush()
                _acknowledge_automatically(casework, session, case)
        done.append(item.envelope_id)
    return done


def _acknowledge_automatically(casework: Casework, session: Session, case: Case) -> None:
    """The automatic reply on arrival: it is the legal acknowledgement (within 7 days)."""
    config = casework.config
    text = f"{config.acknowledgement_sv}\n\n{config.acknowledgement_en}"
    # The reply also carries the new stage, so the tipster's status changes with it.
    seal_for_tipster(casework, session, case, kind="message",
                     payload={"type": "message", "author": "reviewer", "text": text,
                              "automatic": True, "stage": Stage.ACKNOWLEDGED.value})
    case.acknowledged_on = dt.datetime.now(dt.UTC).date()
    case.stage = Stage.ACKNOWLEDGED.value


def seal_for_tipster(casework: Casework, session: Session, case: Case, *, kind: str,
                     payload: dict[str, object], author_id: str | None = None) -> str:
    """Seal a reply or status to the tipster and the case's readers; queue it for push."""
    payload = {**payload, "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")}
    recipients = [crypto.PublicKey(case.tipster_public_key),
                  *reader_keys(session, casework.config, case)]
    incoming, file = casework.store.new_incoming()
    with file:
        sealed = crypto.seal_stream(io.BytesIO(json.dumps(payload).encode()), file, recipients,
                                    routing={"kind": kind})
    envelope_id = sealed.envelope_id.hex()
    session.add(CaseEnvelope(id=envelope_id, case_id=case.id, kind=kind, header=sealed.header,
                             body_size=sealed.body_size, author_id=author_id,
                             delivered=False))
    commit_in_transaction(session, casework.store, incoming, envelope_id)
    return envelope_id


def pending_pushes(casework: Casework) -> list[Outgoing]:
    """Replies and status updates not yet confirmed delivered to intake."""
    with casework.db.session() as session:
        rows = session.execute(select(CaseEnvelope, Case.intake_receipt_id)
                               .join(Case, CaseEnvelope.case_id == Case.id)
                               .where(CaseEnvelope.delivered.is_(False))).all()
        out = []
        for envelope, receipt_id in rows:
            with casework.store.open(envelope.id) as body:
                out.append(Outgoing(envelope.id, receipt_id, envelope.kind, envelope.header,
                                    body.read()))
    return out


def mark_delivered(casework: Casework, envelope_ids: Iterable[str]) -> None:
    """Intake confirmed it stored these."""
    with casework.db.session() as session:
        for envelope_id in envelope_ids:
            envelope = session.get(CaseEnvelope, envelope_id)
            if envelope is not None:
                envelope.delivered = True
