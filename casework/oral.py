"""Oral and in-person reports (EU 2019/1937 Art. 9(2) and 18).

A reader writes down a report given by phone, in a meeting or as a voice message.
Casework then does what intake does for a written report, on this side of the bridge:

- it issues a receipt code for the reporter and derives from it, with intake's salt and
  Argon2 cost (``intake_receipt_salt``, ``intake_receipt_argon2`` in casework.json), the
  lookup token and the tipster key pair, exactly as intake will when the reporter signs in;
- it opens the case and seals the report, as a REPORT envelope, to the unit's readers and
  the escrow key, with the same sealed fields intake writes (so every later rule, the
  reader-list tag included, treats it like any report);
- it queues a command for intake (``bridge.commands.register_receipt``): the lookup
  token, the tipster's public key and the readers' key ids, never the code.

The code is returned to the view, shown once and handed over; it is never stored, logged
or put in an event. Only the lookup token and the public key remain, as at intake.

The minutes (Art. 18(2)(b), (3)) go into the reporter's dialogue like a reply, sealed to
the tipster key and the case's readers; the reporter approves them or sends corrections
at intake, and the answer is recorded at import from its kind alone (its words stay
sealed; ``record_answer``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import bleach
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import Category, DialogueMinutes, EnvelopeKind
from common.storage import commit_in_transaction
from common.unit_of_work import emit_on
from common.vocabulary import AGENCIES

from .bridge import commands, pushes
from .case_view import readable_case, refusal
from .cases import MAX_TEXT, _verified_recipients
from .errors import CaseworkError, NotPermitted
from .events import CaseOpened, MinutesAnswered, MinutesSent, OralReportRecorded
from .models import Case, CaseEnvelope, MinutesStatus, OralChannel, OralReport, Role, Unit, User
from .readers import READING_ROLES, establish_tag
from .sealing import seal_item
from .services import Casework

log = logging.getLogger("lykta.casework.oral")

# The same bound as a reply or a written report's text (intake's MAX_TEXT).
MAX_SUMMARY = MAX_TEXT
MAX_MINUTES = MAX_TEXT
# A call or meeting recorded long after it happened is a mistake in the date field, not
# a report to file: a year back is far more than any authority's practice.
OLDEST_HELD_ON = dt.timedelta(days=366)
# The reporter's answer to minutes: kind -> the status it records.
ANSWER_KINDS: Mapping[str, MinutesStatus] = {
    EnvelopeKind.MINUTES_APPROVED.value: MinutesStatus.APPROVED,
    EnvelopeKind.MINUTES_CORRECTED.value: MinutesStatus.CORRECTED,
}


class OralReportsOff(CaseworkError):
    """Casework has no copy of intake's receipt salt: it cannot issue a receipt."""

    status = 409
    title = _l("Oral reports are not set up")
    explanation = _l(
        "Nothing was recorded. To record oral reports, casework needs intake's receipt "
        "salt: set intake_receipt_salt in casework.json to the hex of instance_salt in "
        "intake.json, and intake_receipt_argon2 to intake's argon2 setting, then restart "
        "casework. See docs/oral-reports.md.")


class NotAnOralReport(CaseworkError):
    """Minutes can only be sent for a case recorded as an oral report."""

    status = 409
    title = _l("This case is not an oral report")
    explanation = _l("Minutes are sent only for reports given by phone or in a meeting. "
                     "Nothing was sent.")


@dataclass(frozen=True)
class OralInput:
    """What the reader wrote down (already parsed by the form)."""

    unit_id: str
    channel: str
    held_on: dt.date
    category: str
    agency: str
    summary_text: str


@dataclass(frozen=True)
class RecordedOralReport:
    """What the view shows once: the case, and the receipt code to hand over."""

    case_id: str
    reference: str
    receipt: str

    def __repr__(self) -> str:
        # Never the code: a repr ends up in logs and tracebacks.
        return f"RecordedOralReport(case_id={self.case_id!r}, reference={self.reference!r})"


def oral_units(session: Session, user: User) -> list[Unit]:
    """The units where ``user`` may record an oral report: where they read, and which
    receive reports (a unit that takes none would hold the case nowhere)."""
    ids = user.units_with(*READING_ROLES)
    if not ids:
        return []
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids),
                                                   Unit.receives_reports.is_(True))
                                .order_by(Unit.id)))


def _clean(text: str) -> str:
    # Shown to the reporter as plain text by intake, and to readers escaped: markup is
    # stripped here so that what readers see is what the reporter gets.
    return bleach.clean(text, tags=set(), attributes={}, strip=True).strip()


def _checked(session: Session, user: User, report: OralInput) -> tuple[Unit, str]:
    """The input's codes and bounds; the unit (if ``user`` reads there) and the text."""
    unit = session.get(Unit, report.unit_id)
    if unit is None or unit not in oral_units(session, user):
        # The same refusal for "no such unit" and "not yours": ids reveal nothing.
        raise NotPermitted()
    if report.channel not in {c.value for c in OralChannel}:
        raise refusal(_l("choose how the report was given"))
    if report.category not in {c.value for c in Category}:
        raise refusal(_l("choose a category from the list"))
    if report.agency and report.agency not in AGENCIES:
        raise refusal(_l("choose an agency from the list"))
    today = dt.datetime.now(dt.UTC).date()
    if not today - OLDEST_HELD_ON <= report.held_on <= today:
        raise refusal(_l("the date of the call or meeting must be within the last year "
                         "and not in the future"))
    text = _clean(report.summary_text)
    if not text or len(text) > MAX_SUMMARY:
        raise refusal(_l("the report needs between 1 and %(max)s characters", max=MAX_SUMMARY))
    return unit, text


def _unit_readers(session: Session, unit: Unit) -> list[User]:
    """Whom intake would seal a report for ``unit`` to: its active readers whose key is
    published (approved). A key made after a reset waits for its approval here too."""
    people = session.scalars(select(User).where(User.active.is_(True),
                                                User.public_key.is_not(None)))
    return [p for p in people
            if p.public_key is not None and p.public_key == p.approved_public_key
            and unit.id in p.units_with(*READING_ROLES)]


def record_oral_report(casework: Casework, session: Session, user: User,
                       key: crypto.PrivateKey | None, unit_id: str, channel: str,
                       held_on: dt.date, category: str, agency: str,
                       summary_text: str) -> RecordedOralReport:
    """Open a case for an oral report; return its receipt code (to show once, never store).

    Only a reader of the unit, whose published key is among the unit's readers (so the
    case is sealed to them too and they can send the minutes). ``agency`` is a code of
    ``common.vocabulary.AGENCIES`` or empty.
    """
    report = OralInput(unit_id, channel, held_on, category, agency, summary_text)
    salt = casework.config.intake_receipt_salt
    if salt is None:
        raise OralReportsOff()
    if key is None or not user.roles & {Role.REVIEWER, Role.UNIT_LEAD}:
        raise NotPermitted()
    unit, text = _checked(session, user, report)
    readers = _unit_readers(session, unit)
    if user not in readers or key.public_key.raw != user.public_key:
        raise refusal(_l("your key is not yet published to the unit's readers (it waits "
                         "for an administrator's approval); ask a colleague to record it"))
    receipt = crypto.generate_receipt()
    # The one expensive step (Argon2id at intake's cost): the same derivation intake runs
    # at every sign-in, so the reporter's code opens this dialogue there.
    keys = crypto.derive_receipt_keys(receipt, salt, casework.config.intake_receipt_argon2)
    # Imported here: the bridge's import module imports this one (for minutes answers).
    from .bridge.imports import new_reference

    today = dt.datetime.now(dt.UTC).date()
    case = Case(reference=new_reference(), unit_id=unit.id, category=report.category,
                agency=report.agency or None, received_on=today,
                tipster_public_key=keys.tipster_public_key.raw,
                # Intake's receipt ids are random 32-hex ids too; intake stores this one
                # when the register command arrives.
                intake_receipt_id=secrets.token_hex(16))
    session.add(case)
    session.flush()
    emit_on(session, CaseOpened(case.id, unit.id))
    reader_ids = [p.public_key for p in readers if p.public_key is not None]
    payload = {
        # The fields intake seals into a written report, so that the case page, the tag
        # (recipient_key_ids, excluded_key_ids) and every later rule read it alike.
        "version": 1, "category": report.category, "agency": report.agency,
        "what": text, "when": report.held_on.isoformat(), "who": "",
        "excluded_key_ids": [],
        "recipient_key_ids": [crypto.key_id_of(k).hex() for k in reader_ids],
        "confidential": False, "attachments": [], "submitted_on": today.isoformat(),
        "language": "sv", "unit": unit.id,
        "oral": {"channel": report.channel, "held_on": report.held_on.isoformat(),
                 "recorded_by": user.id}}
    recipients = [crypto.PublicKey(k) for k in reader_ids]
    if casework.config.escrow_public_key is not None:
        recipients.append(crypto.PublicKey(casework.config.escrow_public_key))
    envelope = _seal_report(casework, session, case, payload, recipients)
    session.add(OralReport(case_id=case.id, channel=report.channel, recorded_by=user.id,
                           minutes_status=MinutesStatus.AWAITING.value))
    session.flush()
    # Intake learns the receipt in the same transaction's outcome: the command exists
    # exactly when the case does. No code, no content: a token and public keys.
    commands.register_receipt(session, case, lookup_token=keys.lookup_token,
                              params=keys.params,
                              recipient_key_ids=[crypto.key_id_of(k) for k in reader_ids])
    if casework.config.acknowledge_automatically:
        # As for a written report. Sealed before the tag exists (the list is the one
        # sealed just now), like the acknowledgement at import.
        pushes.acknowledge_automatically(casework, session, case)
    # The recorder holds the content key now: the reader list is tagged at once.
    establish_tag(session, case, crypto.open_content_key(envelope.header, key), payload)
    emit_on(session, OralReportRecorded(case.id, user.id, report.channel))
    return RecordedOralReport(case.id, case.reference, receipt)


def _seal_report(casework: Casework, session: Session, case: Case,
                 payload: Mapping[str, object],
                 recipients: list[crypto.PublicKey]) -> CaseEnvelope:
    """The REPORT envelope, with intake's routing (kind, category, unit)."""
    incoming, file = casework.store.new_incoming()
    try:
        with file:
            sealed = crypto.seal_stream(
                io.BytesIO(json.dumps(payload, ensure_ascii=False).encode("utf-8")), file,
                recipients, routing={"kind": EnvelopeKind.REPORT.value,
                                     "category": case.category, "unit": case.unit_id})
    except BaseException:
        casework.store.discard(incoming)
        raise
    envelope = CaseEnvelope(id=sealed.envelope_id.hex(), case_id=case.id,
                            kind=EnvelopeKind.REPORT.value, header=sealed.header,
                            body_size=sealed.body_size, author_id=None, origin="casework",
                            delivered=True)
    case.envelopes.append(envelope)
    session.flush()
    commit_in_transaction(session, casework.store, incoming, envelope.id)
    return envelope


def oral_report(session: Session, case_id: str) -> OralReport | None:
    """The case's oral-report row, if it was recorded as one."""
    return session.get(OralReport, case_id)


def send_minutes(casework: Casework, session: Session, user: User,
                 key: crypto.PrivateKey | None, case_id: str, text: str,
                 held_on: dt.date) -> str:
    """Seal minutes to the tipster key and the case's readers; queue them for the
    reporter's dialogue, to approve or correct. Returns the envelope id."""
    readable_case(session, user, key, case_id)  # the access check, before anything else
    row = oral_report(session, case_id)
    if row is None:
        raise NotAnOralReport()
    cleaned = _clean(text)
    if not cleaned or len(cleaned) > MAX_MINUTES:
        raise refusal(_l("the minutes need between 1 and %(max)s characters", max=MAX_MINUTES))
    today = dt.datetime.now(dt.UTC).date()
    if not today - OLDEST_HELD_ON <= held_on <= today:
        raise refusal(_l("the date of the call or meeting must be within the last year "
                         "and not in the future"))
    case, readers = _verified_recipients(casework, session, user, key, case_id)
    # No name in the payload: like a reply, the reporter's copy is the same envelope.
    minutes = DialogueMinutes(text=cleaned, channel=row.channel, held_on=held_on.isoformat())
    envelope_id = seal_item(casework, session, case, kind=EnvelopeKind.MINUTES,
                            document=minutes.to_json(),
                            recipients=[crypto.PublicKey(case.tipster_public_key), *readers],
                            author_id=user.id, for_tipster=True)
    row.minutes_envelope_id = envelope_id
    row.minutes_status = MinutesStatus.AWAITING.value
    row.answered_at = None
    emit_on(session, MinutesSent(case.id, user.id, envelope_id))
    return envelope_id


def record_answer(session: Session, row: OralReport, kind: str,
                  routing: Mapping[str, str], envelope_id: str) -> bool:
    """Record the reporter's answer from its kind and routing alone (no decryption).

    The routing names the minutes answered (authenticated with the body). An answer to
    older minutes (new ones were sent meanwhile) is kept with the case but changes no
    status: the newest minutes still wait for their answer. True if recorded.
    """
    status = ANSWER_KINDS[kind]
    if routing.get("minutes") != row.minutes_envelope_id:
        log.info("an answer to earlier minutes was stored; the status is unchanged")
        return False
    row.minutes_status = status.value
    row.answered_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    emit_on(session, MinutesAnswered(row.case_id, envelope_id, status.value))
    return True
