"""Signing in with a receipt, reading the dialogue, answering, signing out.

Reading the dialogue and sending a follow-up take the session of the request's unit of
work. Signing in, resuming and signing out are the deliberate exceptions: each runs in a
short unit of its own (``Intake.unit``), for reasons given at each of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crypto
from common.contract import (
    Audience,
    Author,
    DialogueMessage,
    EnvelopeKind,
    MinutesAnswer,
    Stage,
    announced_stage,
    now_iso,
)
from common.directory import DirectoryRefused
from common.storage import EnvelopeStore
from common.unit_of_work import emit_on

from .errors import (
    IntakeError,
    MalformedReceiptCode,
    ReceiptCodeTypo,
    ServiceUnavailable,
    SessionExpired,
    UnknownReceipt,
)
from .events import FollowUpSent, TipsterSignedIn
from .models import ReceiptRecord, StoredEnvelope, TipsterSession
from .reporting import recipient_ids
from .sealing import Upload, adopt_uploads, readers_with_escrow, seal_json
from .services import Intake


@dataclass(frozen=True)
class SignedIn:
    """What the cookie must carry after a sign-in: the session id and its secret."""

    session_id: str
    secret: bytes


@dataclass
class Dialogue:
    """What a signed-in tipster sees."""

    stage: str
    items: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None  # how the case ended, once concluded


def _purge_after(intake: Intake) -> dt.datetime:
    # Rounded up to the hour so the row does not record when the tipster was active.
    moment = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(
        seconds=intake.config.session_idle_seconds)
    hours = math.ceil(moment.timestamp() / 3600)
    return dt.datetime.fromtimestamp(hours * 3600, dt.UTC).replace(tzinfo=None)


def sign_in(intake: Intake, typed: str) -> SignedIn:
    """Open a tipster session for a receipt code.

    Every well-formed code costs the same work (one Argon2 derivation per parameter set
    in use and one indexed lookup), and the answer is held back to a fixed floor, so the
    timing tells no valid code from an unknown one. Malformed codes and typos are told
    apart without any lookup: the check is public and reveals nothing.

    Not in the request's unit of work, on purpose: no transaction is open during the
    Argon2 derivations, and the session row is committed in a short unit of its own
    before the answer is held back, so no write lock is held across the wait.
    """
    try:
        code = crypto.normalize_receipt(typed)
    except crypto.ReceiptTypo as exc:
        raise ReceiptCodeTypo() from exc
    except crypto.MalformedReceipt as exc:
        raise MalformedReceiptCode() from exc
    started = time.monotonic()
    try:
        return _open_session(intake, code)
    finally:
        remaining = intake.config.login_floor_seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)


def _open_session(intake: Intake, code: str) -> SignedIn:
    with intake.unit() as unit:  # a short read, over before any derivation
        stored = set(unit.session.scalars(select(ReceiptRecord.kdf).distinct()))
    param_sets = {json.dumps(intake.config.argon2.to_dict(), sort_keys=True)} | stored
    derived: list[crypto.ReceiptKeys] = []
    for params_json in sorted(param_sets):
        params = crypto.Argon2Params.from_dict(json.loads(params_json))
        with intake.gate.slot():
            derived.append(crypto.derive_receipt_keys(code, intake.config.instance_salt,
                                                      params))
    secret = crypto.new_session_secret()
    with intake.unit() as unit:
        match: crypto.ReceiptKeys | None = None
        for keys in derived:  # one lookup per parameter set, found or not
            found = unit.session.scalar(select(ReceiptRecord.id).where(
                ReceiptRecord.lookup_token == keys.lookup_token))
            if found is not None and match is None:
                match = keys
        if match is None:
            raise UnknownReceipt()
        # The expiry sweep of tipster sessions rides along with each sign-in.
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        unit.session.execute(delete(TipsterSession).where(TipsterSession.purge_after < now))
        row = TipsterSession(locked_key=crypto.lock_key(match.tipster_key, secret),
                             purge_after=_purge_after(intake))
        unit.session.add(row)
        unit.session.flush()
        unit.emit(TipsterSignedIn())
    return SignedIn(row.id, secret)


def resume(intake: Intake, session_id: str, secret: bytes) -> tuple[ReceiptRecord,
                                                                     crypto.PrivateKey]:
    """The receipt and tipster key of a session, or :class:`SessionExpired`.

    In a short unit of its own, not the request's: the cookie's idle clock is renewed by
    every request, whatever its answer (a follow-up refused with 400 too), so the row's
    purge time must be renewed with it, or the row could be swept while the cookie is
    still good.
    """
    with intake.unit() as unit:
        row = unit.session.get(TipsterSession, session_id)
        if row is None:
            raise SessionExpired()
        try:
            key = crypto.unlock_key(row.locked_key, secret)
        except crypto.DecryptionError as exc:
            raise SessionExpired() from exc
        record = unit.session.scalar(select(ReceiptRecord).where(
            ReceiptRecord.tipster_public_key == key.public_key.raw))
        if record is None:
            raise SessionExpired()
        row.purge_after = _purge_after(intake)
    return record, key


def sign_out(intake: Intake, session_id: str) -> None:
    """Destroy the server half of a session (the cookie half is then useless).

    In a short unit of its own, not the request's: the server half must go whatever the
    request answers (an expired session is destroyed, then answered with 401).
    """
    with intake.unit() as unit:
        unit.session.execute(delete(TipsterSession).where(TipsterSession.id == session_id))


def load_dialogue(session: Session, store: EnvelopeStore, record: ReceiptRecord,
                  key: crypto.PrivateKey) -> Dialogue:
    """Decrypt everything sealed to the tipster for this receipt, oldest first."""
    envelopes = list(session.scalars(select(StoredEnvelope).where(
        StoredEnvelope.receipt_id == record.id, StoredEnvelope.audience == Audience.TIPSTER)))
    items: list[dict[str, Any]] = []
    for envelope in envelopes:
        out = io.BytesIO()
        with store.open(envelope.id) as body:
            crypto.open_stream(envelope.header, body, out, key)
        item = json.loads(out.getvalue())
        if isinstance(item, dict) and item.get("type") == "minutes":
            item["envelope_id"] = envelope.id  # what an answer names
        items.append(item)
    items.sort(key=lambda item: str(item.get("sent_at", "")))
    _mark_minutes(items)
    stage = Stage.RECEIVED
    outcome: str | None = None
    for item in items:  # oldest first: the newest stage wins
        announced = announced_stage(item)
        if announced is not None:
            stage = announced
            # Only a status names an outcome, and only a conclusion keeps one.
            outcome = str(item["outcome"]) if announced == Stage.CONCLUDED \
                and item.get("type") == "status" and item.get("outcome") else None
    # A status stays in the dialogue: the tipster reads each change in plain language
    # (dialogue.html), from its codes alone; it never carries a reviewer's words.
    return Dialogue(stage=stage.value, outcome=outcome,
                    items=[i for i in items
                           if i.get("type") != "status" or announced_stage(i) is not None])


def send_message(intake: Intake, session: Session, record: ReceiptRecord, text: str,
                 uploads: Sequence[Upload], spool_key: crypto.PrivateKey | None) -> None:
    """Send a follow-up to the case's readers, with a copy sealed to the tipster.

    The tipster's exclusions hold for every later item: when the report's readers have
    all left, the unit's readers receive it, but never one the tipster excluded.
    Everything is stored in ``session``'s transaction (bodies included: they are removed
    again if it rolls back).
    """
    original, excluded = recipient_ids(record.recipient_key_ids)
    try:
        readers = intake.directory.follow_up_readers(record.unit_id, original, excluded)
    except DirectoryRefused as exc:
        raise ServiceUnavailable() from exc
    recipients = readers_with_escrow([p.public_key for p in readers], intake.directory.escrow)
    tipster_key = crypto.PublicKey(record.tipster_public_key)
    sent_at = now_iso()
    files = adopt_uploads(session, intake.store, receipt_id=record.id, uploads=uploads,
                          spool_key=spool_key, recipients=recipients)
    seal_json(session, intake.store, receipt_id=record.id, audience=Audience.CASEWORK,
              kind=EnvelopeKind.MESSAGE, recipients=recipients,
              payload={"version": 1, "text": text, "attachments": files,
                       "sent_at": sent_at})
    seal_json(session, intake.store, receipt_id=record.id, audience=Audience.TIPSTER,
              kind=EnvelopeKind.OWN_MESSAGE, recipients=[tipster_key],
              payload=DialogueMessage(Author.TIPSTER, text, sent_at=sent_at,
                                      files=tuple(f["filename"] for f in files)).to_json())
    emit_on(session, FollowUpSent(receipt_id=record.id, files=len(files)))


# --- Minutes of an oral report (Art. 18): the reporter approves them or corrects them ---


class MinutesNotFound(IntakeError):
    """The minutes named are not in this dialogue."""

    status = 404
    title = _l("These minutes were not found")
    explanation = _l("Nothing was sent. Go back to your report and answer the minutes shown "
                     "there.")
    retry_endpoint = "dialogue.show"


class MinutesAlreadyAnswered(IntakeError):
    """The minutes were approved or corrected already."""

    status = 409
    title = _l("You have already answered these minutes")
    explanation = _l("Nothing was sent. Your answer is in your dialogue; if the case "
                     "handlers send new minutes, you can answer those.")
    retry_endpoint = "dialogue.show"


class MinutesSuperseded(IntakeError):
    """Newer minutes were sent since: only the newest can be answered."""

    status = 409
    title = _l("There are newer minutes")
    explanation = _l("Nothing was sent. The case handlers sent newer minutes; read them "
                     "and answer those.")
    retry_endpoint = "dialogue.show"


class MinutesFormInvalid(IntakeError):
    """An answer form that no page of ours sends (an expired form, a forged field)."""

    status = 400
    title = _l("Your answer was not sent")
    explanation = _l("Nothing was sent. The form had expired or was incomplete; go back to "
                     "your report, reload it and answer again.")
    retry_endpoint = "dialogue.show"


class CorrectionsMissing(IntakeError):
    """Corrections without any text."""

    status = 400
    title = _l("Write your corrections")
    explanation = _l("Nothing was sent. Write what should be changed in the minutes, or "
                     "approve them as they are.")
    retry_endpoint = "dialogue.show"


def _mark_minutes(items: list[dict[str, Any]]) -> None:
    """Mark each minutes item with its answer (if any) and whether it is the newest.

    Answers are the tipster's own copies (``minutes-answer``), found in the same dialogue:
    intake keeps no other record of them.
    """
    answers = {str(i.get("minutes_envelope_id")): i for i in items
               if i.get("type") == "minutes-answer"}
    minutes = [i for i in items if i.get("type") == "minutes"]
    for item in minutes:
        answer = answers.get(str(item.get("envelope_id")))
        item["answer"] = None if answer is None else (
            "approved" if answer.get("approved") is True else "corrected")
        item["newest"] = item is minutes[-1]


def _answer_copy_id(record: ReceiptRecord, minutes_envelope_id: str) -> bytes:
    # One answer per minutes, enforced by the database: the tipster's copy of the answer
    # gets an id derived from the receipt and the minutes, so a second answer (a double
    # submit, two tabs at once) collides on the primary key and is refused. The id says
    # nothing intake does not know already (both are in its database).
    return hashlib.blake2b(record.tipster_public_key + bytes.fromhex(minutes_envelope_id),
                           digest_size=16, person=b"lykta-min-answer").digest()


def answer_minutes(intake: Intake, session: Session, record: ReceiptRecord,
                   key: crypto.PrivateKey, minutes_envelope_id: str, *, approved: bool,
                   corrections: str = "") -> None:
    """Approve the newest minutes, or send corrections to them (once per minutes).

    Sealed like a follow-up (to the case's readers and escrow, the tipster's exclusions
    honoured) as kind ``minutes-approved`` or ``minutes-amended``, whose routing names
    the minutes answered: casework records the answer from these alone, without opening
    it. The tipster's own copy is sealed to the tipster key.
    """
    items = load_dialogue(session, intake.store, record, key).items
    minutes = next((i for i in items if i.get("type") == "minutes"
                    and i.get("envelope_id") == minutes_envelope_id), None)
    if minutes is None:
        raise MinutesNotFound()
    if minutes["answer"] is not None:
        raise MinutesAlreadyAnswered()
    if not minutes["newest"]:
        raise MinutesSuperseded()
    text = "" if approved else corrections.strip()
    if not approved and not text:
        raise CorrectionsMissing()
    original, excluded = recipient_ids(record.recipient_key_ids)
    try:
        readers = intake.directory.follow_up_readers(record.unit_id, original, excluded)
    except DirectoryRefused as exc:
        raise ServiceUnavailable() from exc
    recipients = readers_with_escrow([p.public_key for p in readers], intake.directory.escrow)
    answer = MinutesAnswer(minutes_envelope_id, approved, text)
    kind = EnvelopeKind.MINUTES_APPROVED if approved else EnvelopeKind.MINUTES_CORRECTED
    try:
        # First, so that a second answer fails before anything else is sealed; the
        # refusal (409) rolls the request's unit back.
        _seal_own_answer(intake, session, record, answer,
                         _answer_copy_id(record, minutes_envelope_id))
    except IntegrityError as exc:
        raise MinutesAlreadyAnswered() from exc
    seal_json(session, intake.store, receipt_id=record.id, audience=Audience.CASEWORK,
              kind=kind, recipients=recipients, routing={"minutes": minutes_envelope_id},
              payload={"version": 1, **answer.to_json()})
    emit_on(session, FollowUpSent(receipt_id=record.id, files=0))


def _seal_own_answer(intake: Intake, session: Session, record: ReceiptRecord,
                     answer: MinutesAnswer, envelope_id: bytes) -> None:
    seal_json(session, intake.store, receipt_id=record.id, audience=Audience.TIPSTER,
              kind=EnvelopeKind.OWN_MESSAGE, payload=answer.to_json(),
              recipients=[crypto.PublicKey(record.tipster_public_key)],
              envelope_id=envelope_id)
