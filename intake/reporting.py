"""Submitting a report: route it, seal it, hand out a receipt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

import crypto
from common.contract import Audience, Category, DialogueReport, EnvelopeKind
from common.directory import DirectoryRefused, Person, Unit
from common.unit_of_work import emit_on

from .errors import EveryoneExcluded, ServiceUnavailable
from .events import ReportSubmitted
from .models import ReceiptRecord, today
from .sealing import (
    Upload,
    adopt_uploads,
    readers_with_escrow,
    seal_json,
    seal_json_in_custody,
)
from .services import Intake


@dataclass(frozen=True)
class ReportInput:
    """What the tipster filled in."""

    category: str
    agency: str
    what: str
    when: str
    who: str
    excluded: Sequence[str] = ()
    confidential: bool = False
    name: str = ""
    contact: str = ""
    locale: str = "sv"


def derive_new_receipt(intake: Intake) -> tuple[str, crypto.ReceiptKeys]:
    """A fresh receipt and what it derives to (one bounded Argon2 run)."""
    receipt = crypto.generate_receipt()
    # A report arrives after its upload, which may have taken an hour over Tor: wait
    # longer for a slot than a sign-in does rather than throw the upload away.
    with intake.gate.slot(wait_seconds=max(30.0, intake.config.argon2_wait_seconds)):
        keys = crypto.derive_receipt_keys(receipt, intake.config.instance_salt,
                                          intake.config.argon2)
    return receipt, keys


def route_report(intake: Intake, category: str, excluded: Sequence[str]) -> tuple[Unit,
                                                                                 list[Person]]:
    """The receiving unit and readers, or why not.

    Excluding every reviewer of the unit and of its alternate is the tipster's choice,
    not a fault: :class:`EveryoneExcluded` (400, "untick someone"). Only a directory that
    routes the category nowhere even without exclusions is the service's fault (503).
    """
    try:
        return intake.directory.route(category, excluded)
    except DirectoryRefused as exc:
        try:
            intake.directory.route(category, ())
        except DirectoryRefused:
            raise ServiceUnavailable() from exc
        raise EveryoneExcluded() from exc


def recipient_ids_json(readers: Sequence[Person], excluded: Sequence[str]) -> str:
    """What a receipt row records about who reads it: the readers and the exclusions.

    The exclusions are kept so that every later item (follow-ups, their files) honours
    them even after the readers have left the directory. They tell a holder of the intake
    database nothing the reader list did not already hint at (section 7 of the threat
    model: an excluded reviewer is missing from the list).
    """
    return json.dumps({"readers": [p.key_id for p in readers],
                       "excluded": sorted(set(excluded))})


def recipient_ids(stored: str) -> tuple[list[str], list[str]]:
    """(readers, excluded) from a receipt row; rows from before exclusions were kept hold a
    bare list of readers, and their exclusions are unknown (empty)."""
    parsed = json.loads(stored)
    if isinstance(parsed, list):
        return [str(i) for i in parsed], []
    return [str(i) for i in parsed["readers"]], [str(i) for i in parsed["excluded"]]


def submit_report(intake: Intake, session: Session, report: ReportInput,
                  uploads: Sequence[Upload], spool_key: crypto.PrivateKey | None) -> str:
    """Seal and store a report with its files; return the receipt code (shown once).

    Everything is stored in ``session``'s transaction, bodies included (removed again if
    it rolls back). The Argon2 derivation of the receipt runs first, before anything is
    written, so no write transaction waits on it.
    """
    unit, readers = route_report(intake, report.category, report.excluded)
    recipients = readers_with_escrow([p.public_key for p in readers], intake.directory.escrow)
    receipt, keys = derive_new_receipt(intake)
    store = intake.store
    record = ReceiptRecord(
        lookup_token=keys.lookup_token,
        tipster_public_key=keys.tipster_public_key.raw,
        kdf=json.dumps(keys.params.to_dict(), sort_keys=True),
        unit_id=unit.id,
        recipient_key_ids=recipient_ids_json(readers, report.excluded),
    )
    session.add(record)
    session.flush()
    attachments = adopt_uploads(session, store, receipt_id=record.id, uploads=uploads,
                                spool_key=spool_key, recipients=recipients)
    submitted_on = today().isoformat()
    # The category travels in the (authenticated, unencrypted) routing fields so casework
    # can file the case before anyone decrypts it; the unit already says as much to
    # anyone holding the intake database.
    seal_json(session, store, receipt_id=record.id, audience=Audience.CASEWORK,
              kind=EnvelopeKind.REPORT,
              recipients=recipients,
              routing={"category": report.category, "unit": unit.id},
              payload={
                  "version": 1, "category": report.category,
                  "agency": report.agency, "what": report.what,
                  "when": report.when, "who": report.who,
                  "excluded_key_ids": list(report.excluded),
                  # Inside the sealed, authenticated report: casework refuses to bless a
                  # reader list holding any other key (one appended by someone with its
                  # database alone).
                  "recipient_key_ids": [p.key_id for p in readers],
                  "confidential": report.confidential,
                  "attachments": attachments, "submitted_on": submitted_on,
                  "language": report.locale, "unit": unit.id})
    if report.confidential:
        # The identity is sealed in custody (crypto/FORMAT.md, "Custody"): the inner layer
        # to the report's readers and escrow, the outer to the custodians and escrow. A
        # reader reads it only once a custodian releases the outer layer to them, and a
        # custodian alone never reads it (four eyes). With no custodian in the directory
        # the outer layer holds escrow only: requests wait, nothing opens automatically.
        custodians = [p.public_key for p in intake.directory.custodians]
        seal_json_in_custody(session, store, receipt_id=record.id,
                             kind=EnvelopeKind.IDENTITY,
                             readers=recipients,
                             custodians=readers_with_escrow(custodians,
                                                            intake.directory.escrow),
                             payload={"name": report.name, "contact": report.contact})
    # The tipster's own view of the report: what and when, not the text (a stolen receipt
    # then reveals the dialogue, not the full report).
    seal_json(session, store, receipt_id=record.id, audience=Audience.TIPSTER,
              kind=EnvelopeKind.OWN_REPORT,
              recipients=[keys.tipster_public_key],
              payload=DialogueReport(Category(report.category), report.agency,
                                     files=tuple(a["filename"] for a in attachments),
                                     confidential=report.confidential).to_json())
    emit_on(session, ReportSubmitted(receipt_id=record.id, unit_id=unit.id,
                                     category=report.category))
    return receipt
