"""Taking envelopes from intake into cases, trusting intake for delivery only.

``casework/bridge/cycle.py`` feeds it the items of intake's sync app, and
``casework/bridge/bundles.py`` those of air-gap bundles. Import is idempotent: an
envelope seen twice is stored once, so at-least-once delivery never duplicates anything.

Each item is imported in a unit of work of its own, on purpose (not one unit for the
whole import): one refused or failing item must not roll back the others, which are then
acknowledged to intake. Each item's unit emits what it did (:class:`CaseOpened`,
:class:`ItemImported`, :class:`AcknowledgedAutomatically`); its subscribers hear of it when
that item commits, and a refused, held or failed item emits nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from common.contract import FROM_TIPSTER_KINDS, Category, EnvelopeKind, TipsterItem
from common.storage import is_envelope_id
from common.sync_schema import MAX_BODY
from common.unit_of_work import emit_on

from ..events import CaseOpened, ItemImported
from ..models import Case, CaseEnvelope, OralReport, Unit
from ..services import Casework
from . import pushes

log = logging.getLogger("lykta.casework.import")
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Incoming:
    """One envelope from intake, its body fetched (or unbundled) into a file."""

    envelope_id: str
    receipt_id: str
    kind: str
    header: bytes
    body_path: Path
    tipster_public_key: bytes
    unit_id: str

    @classmethod
    def of(cls, item: TipsterItem, body_path: Path) -> Incoming:
        """An item as the contract carries it, with its body at ``body_path``."""
        return cls(item.envelope_id, item.receipt_id, item.kind, item.header, body_path,
                   item.tipster_public_key, item.unit_id)


def new_reference() -> str:
    """A short random case reference for people to quote (not sequential)."""
    return "LY-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


# A report, message or identity is a short JSON document (intake bounds the form at a few
# MiB); only a file may be large. Anything bigger than its kind allows is not genuine.
MAX_DOCUMENT_BODY = 8 * 1024 * 1024
MAX_FILE_BODY = MAX_BODY
# Kinds a case holds once: a second one is forged (it would reset the stage, re-send the
# acknowledgement, or swap the sealed identity).
ONCE_PER_CASE = frozenset({EnvelopeKind.REPORT, EnvelopeKind.IDENTITY})
# The reporter's answer to the minutes of an oral report (casework.oral): accepted only
# for a case recorded as one, with minutes sent; recorded from the kind and routing alone.
MINUTES_ANSWERS = frozenset({EnvelopeKind.MINUTES_APPROVED, EnvelopeKind.MINUTES_CORRECTED})
# Every kind an import accepts: exactly what the contract lets a tipster send
# (tests/common/test_contract.py holds the two together).
ACCEPTED_KINDS = frozenset({EnvelopeKind.REPORT, EnvelopeKind.FILE, EnvelopeKind.IDENTITY,
                            EnvelopeKind.MESSAGE}) | MINUTES_ANSWERS


class Refused(Exception):
    """An item from intake that casework will never import; ``reason`` says why (no content).

    Refused items are acknowledged: retrying can never succeed, and left at intake they
    would come back in every pull and, enough of them, fill every batch. The reason and
    the envelope id are logged for the operator; intake then deletes its copy.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Held(Exception):
    """An item that cannot be imported yet (its report has not come, its unit is closed).

    Held items are not acknowledged: they wait at intake and are tried again next cycle.
    """


@dataclass(frozen=True)
class ImportOutcome:
    """What one import did: the ids to acknowledge, and how many were new, refused, held."""

    acknowledge: list[str]
    imported: int
    refused: int
    held: int


def import_envelopes(casework: Casework, items: Iterable[Incoming]) -> list[str]:
    """Store new envelopes (creating cases for new reports); return the ids to acknowledge."""
    return import_from_intake(casework, items).acknowledge


def import_from_intake(casework: Casework, items: Iterable[Incoming]) -> ImportOutcome:
    """Import what intake delivered, trusting it for delivery only.

    Intake holds a signing key but no key that opens anything, so a compromised intake can
    sign any item it likes. Casework therefore accepts only what a tipster can send
    (report, file, identity, the tipster's message), checks every public fact it can
    without decrypting (kind, envelope id, routing, category, unit, tipster key, size,
    one report per receipt), and records every imported row with ``origin="intake"``,
    which the case view always shows as the tipster's, whatever the sealed payload says.
    """
    done: list[str] = []
    imported = refused = held = 0
    for item in items:
        try:
            if _import_one(casework, item):
                imported += 1
        except Refused as exc:
            # The reason and the id only: never the item's content or routing values.
            log.warning("refused an envelope from intake (%s): %s", exc.reason,
                        item.envelope_id if is_envelope_id(item.envelope_id) else "bad id")
            refused += 1
            if not is_envelope_id(item.envelope_id):
                continue  # nothing intake could delete by that name
        except Held as exc:
            log.info("holding an envelope at intake: %s", exc)
            held += 1
            continue
        done.append(item.envelope_id)
    if refused:
        log.warning("refused %d envelopes from intake in this import", refused)
    return ImportOutcome(done, imported, refused, held)


def _import_one(casework: Casework, item: Incoming) -> bool:
    """Import one item; True if it is new. Raises :class:`Refused` or :class:`Held`."""
    if not (is_envelope_id(item.envelope_id) and is_envelope_id(item.receipt_id)):
        raise Refused("an id is malformed")
    placed, incoming = False, None
    try:
        # A unit of work of its own (see the module's docstring): committed when the block
        # ends without an exception (a redelivery commits nothing), rolled back otherwise.
        with casework.unit() as unit:
            session = unit.session
            existing = session.get(CaseEnvelope, item.envelope_id)
            if existing is not None:
                _check_redelivery(session, existing, item)
                return False  # a redelivery: acknowledge again
            routing = _check_item(item)
            case = session.scalar(select(Case).where(
                Case.intake_receipt_id == item.receipt_id))
            if case is None:
                if item.kind != EnvelopeKind.REPORT:
                    raise Held("its report has not been imported yet")
                case = _new_case(session, item, routing)
            else:
                _check_follow_up(session, case, item)
            oral = _check_minutes_answer(session, case, item)
            incoming, file = casework.store.new_incoming()
            with file, item.body_path.open("rb") as source:
                shutil.copyfileobj(source, file)
            session.add(CaseEnvelope(id=item.envelope_id, case_id=case.id, kind=item.kind,
                                     header=item.header, origin="intake",
                                     body_size=item.body_path.stat().st_size))
            # Not commit_in_transaction: its rollback hook would delete the body even when
            # the rollback is a concurrent import of this same envelope winning the race,
            # whose committed row names this very body (same id, same bytes).
            casework.store.commit(incoming, item.envelope_id)
            placed = True
            emit_on(session, ItemImported(case.id, item.envelope_id, item.kind))
            if oral is not None:
                from ..oral import record_answer  # here: casework.oral imports this module

                record_answer(session, oral, item.kind, routing, item.envelope_id)
            if item.kind == EnvelopeKind.REPORT and casework.config.acknowledge_automatically:
                # Off, the case stays "received": a reader acknowledges it through the
                # workflow (received -> acknowledged) within the 7 days.
                session.flush()
                pushes.acknowledge_automatically(casework, session, case)
    except (Refused, Held):
        raise
    except Exception as exc:
        if incoming is not None and not placed:
            casework.store.discard(incoming)
        if placed and not _row_exists(casework, item.envelope_id):
            casework.store.delete(item.envelope_id)
        elif placed:
            # Another worker imported it first (two cycles at once, rq): nothing lost. (Or
            # this unit committed and an after-commit subscriber failed: the row is there
            # all the same, so the item is acknowledged like a redelivery.)
            log.info("an import found its envelope committed after all (%s)",
                     type(exc).__name__)
            return False
        elif isinstance(exc, IntegrityError) and _row_exists(casework, item.envelope_id):
            # Two cycles at once (rq workers) on PostgreSQL: both saw no case for the
            # receipt, the other committed first, and our insert of the case (unique
            # intake_receipt_id) waited for it and failed. Its row holds this item: a
            # redelivery, acknowledged as such, rather than a failed cycle.
            log.info("an import lost a race to another worker's commit")
            return False
        raise
    return True


def _row_exists(casework: Casework, envelope_id: str) -> bool:
    with casework.db.session() as session:
        return session.get(CaseEnvelope, envelope_id) is not None


def _check_redelivery(session: Session, existing: CaseEnvelope, item: Incoming) -> None:
    """An id casework already holds must be this same item of this same receipt."""
    owner = session.get(Case, existing.case_id)
    if (existing.origin != "intake" or owner is None
            or owner.intake_receipt_id != item.receipt_id):
        # An id casework already uses for something else (a reply, a note, another case's
        # item): nothing is imported; acknowledging it deletes only intake's casework-bound
        # copy, which is not genuine.
        raise Refused("the envelope id belongs to another item")


def _check_follow_up(session: Session, case: Case, item: Incoming) -> None:
    """A later item of a receipt that already has a case."""
    if case.purged_on is not None:
        # Retention purged the case (its dialogue at intake is being forgotten): nothing
        # more is stored for it. Refused items are acknowledged, so intake drops its copy.
        raise Refused("its case was purged")
    # Casework itself never creates these kinds, so any row of the kind is intake's.
    if item.kind in ONCE_PER_CASE and session.scalar(select(CaseEnvelope.id).where(
            CaseEnvelope.case_id == case.id, CaseEnvelope.kind == item.kind).limit(1)):
        raise Refused(f"a second {item.kind} for a receipt that has a case")
    if case.tipster_public_key != item.tipster_public_key:
        raise Refused("the tipster key differs from the case's")


def _check_minutes_answer(session: Session, case: Case, item: Incoming) -> OralReport | None:
    """For an answer to minutes: the oral report it answers (refused without one)."""
    if item.kind not in MINUTES_ANSWERS:
        return None
    oral = session.get(OralReport, case.id)
    if oral is None:
        # Only casework opens oral reports: an answer for any other case is forged.
        raise Refused("an answer to minutes for a case that is not an oral report")
    if oral.minutes_envelope_id is None:
        raise Refused("an answer to minutes that were never sent")
    return oral


def _check_item(item: Incoming) -> Mapping[str, str]:
    """The checks that need no database: kind, size, parts, routing; the routing fields."""
    if item.kind not in FROM_TIPSTER_KINDS or item.kind not in ACCEPTED_KINDS:
        # A note, a reviewer's reply, a status: only staff create these, in casework.
        raise Refused("a kind that only casework creates")
    if len(item.tipster_public_key) != 32:
        raise Refused("the tipster key is malformed")
    size = item.body_path.stat().st_size
    if size > (MAX_FILE_BODY if item.kind == EnvelopeKind.FILE else MAX_DOCUMENT_BODY):
        raise Refused(f"the body is too large for a {item.kind}")
    try:
        with item.body_path.open("rb") as body:
            preamble = crypto.read_body_preamble(body)
        header_id = crypto.header_envelope_id(item.header)
    except crypto.CryptoError as exc:
        raise Refused("the header or body is malformed") from exc
    if preamble.envelope_id.hex() != item.envelope_id or header_id.hex() != item.envelope_id:
        raise Refused("the envelope's parts do not belong together")
    routing = preamble.routing
    # The routing fields are bound into every chunk of the body: what they say is what a
    # reader will find on opening it. They must agree with what intake declared.
    if routing.get("kind") != item.kind:
        raise Refused("the body's routing disagrees with the declared kind")
    if item.kind == EnvelopeKind.IDENTITY \
            and routing.get(crypto.LAYER_FIELD) != crypto.OUTER_LAYER:
        # Imported as it came (opaque: casework opens nothing here), but only in custody
        # (crypto/FORMAT.md): an identity sealed in one layer would open for whoever is
        # in its header, without a custodian's release (four eyes).
        raise Refused("an identity that is not sealed in custody")
    if item.kind == EnvelopeKind.REPORT:
        if routing.get("category") not in set(Category):
            raise Refused("a category not in the fixed list")
        if routing.get("unit") != item.unit_id:
            raise Refused("the body's routing disagrees with the declared unit")
    return routing


def _new_case(session: Session, item: Incoming, routing: Mapping[str, str]) -> Case:
    """A new case for a report, filed under its unit if that unit takes reports."""
    unit = session.get(Unit, item.unit_id)
    if unit is None:
        raise Refused("a unit that does not exist")
    if not unit.receives_reports:
        # Possibly genuine (intake's directory predates the change): held, not dropped, so
        # an operator can reopen the unit or move it; logged every cycle until then.
        raise Held("its unit does not receive reports")
    if session.scalar(select(Case.id).where(
            Case.tipster_public_key == item.tipster_public_key).limit(1)) is not None:
        # Every receipt derives its own tipster key: a key reused is a copy, not a tipster.
        raise Refused("the tipster key already belongs to another case")
    case = Case(reference=new_reference(), unit_id=unit.id, category=routing["category"],
                received_on=dt.datetime.now(dt.UTC).date(),
                tipster_public_key=item.tipster_public_key,
                intake_receipt_id=item.receipt_id)
    session.add(case)
    session.flush()
    emit_on(session, CaseOpened(case.id, unit.id))
    return case
