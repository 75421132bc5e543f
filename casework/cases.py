"""Working a case: the inbox, reading a case, replying to the tipster, internal notes."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

import bleach
from markupsafe import Markup
from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.orm import Session

import crypto
from common.storage import commit_in_transaction

from .errors import InvalidInput, NotPermitted
from .intake_import import seal_for_tipster
from .models import Assignment, Case, CaseEnvelope, Role, Stage, User
from .readers import reader_keys
from .services import Casework

PAGE_SIZE = 50
MAX_TEXT = 20_000
# The small markup staff may use in replies and notes; everything else is stripped.
ALLOWED_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "ul", "ol", "li"})
READING_ROLES = (Role.REVIEWER, Role.UNIT_LEAD)
SORTS = {
    "received": (Case.received_on.desc(), Case.id.desc()),
    "oldest": (Case.received_on.asc(), Case.id.asc()),
}


def clean_markup(text: str) -> Markup:
    """Staff markup, cleaned with bleach: only a few harmless tags survive."""
    cleaned = bleach.clean(text, tags=ALLOWED_TAGS, attributes={}, strip=True)
    return Markup(cleaned)  # noqa: S704 (bleach removed every tag and attribute not allowed)


@dataclass
class InboxPage:
    """One page of the inbox."""

    cases: list[Case]
    next_cursor: str | None
    today: dt.date


def inbox(session: Session, user: User, *, unit: str | None = None, stage: str | None = None,
          sort: str = "received", cursor: str | None = None, mine: bool = False) -> InboxPage:
    """Cases of the units where ``user`` reads, filtered and sorted, one keyset page.

    Keyset pagination (``received_on``, ``id``) costs the same at page 1 and page 2,000,
    so the inbox stays fast at 100,000 cases.
    """
    units = user.units_with(*READING_ROLES)
    if unit is not None:
        if unit not in units:
            raise NotPermitted()
        units = frozenset({unit})
    query: Select[tuple[Case]] = select(Case).where(Case.unit_id.in_(units))
    if stage:
        query = query.where(Case.stage == stage)
    if mine:  # the personal inbox: cases a unit lead gave to this person
        query = query.where(Case.id.in_(
            select(Assignment.case_id).where(Assignment.user_id == user.id)))
    order = SORTS.get(sort, SORTS["received"])
    if cursor:
        try:
            day, case_id = cursor.split("_", 1)
            boundary = dt.date.fromisoformat(day)
        except ValueError as exc:
            raise InvalidInput("the page link is not valid") from exc
        # A row-value comparison lets the database seek in ix_cases_unit_received, so
        # page 2,000 costs what page 2 costs.
        position = tuple_(Case.received_on, Case.id)
        query = query.where(position > tuple_(literal(boundary), literal(case_id))
                            if sort == "oldest"
                            else position < tuple_(literal(boundary), literal(case_id)))
    rows = list(session.scalars(query.order_by(*order).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = f"{rows[-1].received_on.isoformat()}_{rows[-1].id}" if more else None
    return InboxPage(rows, next_cursor, dt.datetime.now(dt.UTC).date())


@dataclass
class CaseView:
    """A decrypted case, as one reader sees it."""

    case: Case
    report: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    dialogue: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0


def _readable_case(session: Session, user: User, case_id: str) -> Case:
    case = session.get(Case, case_id)
    # Same answer for "no such case" and "another unit's case": ids reveal nothing.
    if case is None or case.unit_id not in user.units_with(*READING_ROLES):
        raise NotPermitted()
    return case


def _open(casework: Casework, envelope: CaseEnvelope, key: crypto.PrivateKey) -> bytes:
    out = io.BytesIO()
    with casework.store.open(envelope.id) as body:
        crypto.open_stream(envelope.header, body, out, key)
    return out.getvalue()


def open_case(casework: Casework, session: Session, user: User,
              key: crypto.PrivateKey | None, case_id: str) -> CaseView:
    """Decrypt a case for ``user``. Refused outside their units or without a header entry."""
    case = _readable_case(session, user, case_id)
    if key is None:
        raise NotPermitted()
    report_envelope = next((e for e in case.envelopes if e.kind == "report"), None)
    if report_envelope is None:
        raise NotPermitted()
    try:
        report = json.loads(_open(casework, report_envelope, key))
    except crypto.UnknownRecipient as exc:
        # Left out by the tipster (conflict of interest) or removed after a declaration.
        raise NotPermitted() from exc
    if case.agency is None and report.get("agency"):
        case.agency = str(report["agency"])[:300]
    view = CaseView(case=case, report=report)
    names = {a["envelope_id"]: a for a in report.get("attachments", [])}
    for envelope in case.envelopes:
        if envelope.kind in ("report", "identity"):
            continue
        if envelope.kind == "file":
            view.files.append({"envelope_id": envelope.id, **names.get(envelope.id, {}),
                               "size": envelope.body_size})
            continue
        try:
            item = json.loads(_open(casework, envelope, key))
        except crypto.DecryptionError:
            view.unreadable += 1
            continue
        if envelope.kind == "note":
            view.notes.append({**item, "html": clean_markup(str(item.get("text", "")))})
        elif envelope.kind == "message" and "author" not in item:
            for attachment in item.get("attachments", []):
                names[attachment["envelope_id"]] = attachment
            view.dialogue.append({**item, "author": "tipster"})
        else:
            view.dialogue.append({**item, "html": clean_markup(str(item.get("text", "")))})
    for entry in view.files:
        entry.update({k: v for k, v in names.get(entry["envelope_id"], {}).items()
                      if k != "size"})
    view.dialogue.sort(key=lambda i: str(i.get("sent_at", "")))
    view.notes.sort(key=lambda i: str(i.get("sent_at", "")))
    return view


def reply(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
          case_id: str, text: str) -> str:
    """Seal a reply to the tipster (and the case's readers); it is pushed to intake."""
    open_case(casework, session, user, key, case_id)  # the same access rule as reading
    # The tipster reads replies as plain text (intake escapes everything), so markup is
    # stripped here: what the reviewer sees in the dialogue is what the tipster gets.
    text = bleach.clean(text, tags=set(), attributes={}, strip=True).strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(f"a reply needs between 1 and {MAX_TEXT} characters")
    case = _readable_case(session, user, case_id)
    envelope_id = seal_for_tipster(casework, session, case, kind="message", author_id=user.id,
                                   payload={"type": "message", "author": "reviewer",
                                            "text": text, "by": user.display_name})
    if case.feedback_on is None and case.stage != Stage.RECEIVED.value:
        case.feedback_on = dt.datetime.now(dt.UTC).date()
    return envelope_id


def add_note(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
             case_id: str, text: str) -> str:
    """An internal note, sealed to the case's readers only (never to the tipster)."""
    open_case(casework, session, user, key, case_id)
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(f"a note needs between 1 and {MAX_TEXT} characters")
    case = _readable_case(session, user, case_id)
    payload = {"text": text, "by": user.display_name,
               "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")}
    incoming, file = casework.store.new_incoming()
    with file:
        sealed = crypto.seal_stream(io.BytesIO(json.dumps(payload).encode()), file,
                                    reader_keys(session, casework.config, case),
                                    routing={"kind": "note"})
    envelope_id = sealed.envelope_id.hex()
    session.add(CaseEnvelope(id=envelope_id, case_id=case.id, kind="note",
                             header=sealed.header, body_size=sealed.body_size,
                             author_id=user.id))
    commit_in_transaction(session, casework.store, incoming, envelope_id)
    return envelope_id


def attachment(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
               case_id: str, envelope_id: str) -> tuple[bytes, dict[str, Any]]:
    """The plaintext of one attached file, with what the report says about it."""
    view = open_case(casework, session, user, key, case_id)
    entry = next((f for f in view.files if f["envelope_id"] == envelope_id), None)
    envelope = session.get(CaseEnvelope, envelope_id)
    if entry is None or envelope is None or envelope.case_id != case_id or key is None:
        raise NotPermitted()
    return _open(casework, envelope, key), entry


def assignable(session: Session, case: Case) -> list[User]:
    """People who may be given ``case``: readers of its unit who have a key."""
    people = session.scalars(select(User).where(User.active.is_(True),
                                                User.public_key.is_not(None)))
    return [p for p in people if case.unit_id in p.units_with(*READING_ROLES)]


def assign(casework: Casework, session: Session, lead: User, key: crypto.PrivateKey | None,
           case_id: str, assignee_id: str) -> int:
    """A unit lead gives a case to a person: their key is added to every envelope.

    Only the recipient headers change (a sealed content key per envelope); the bodies are
    not touched. Identities stay with the custodians. Returns how many envelopes changed.
    """
    case = _readable_case(session, lead, case_id)
    if case.unit_id not in lead.units_with(Role.UNIT_LEAD) or key is None:
        raise NotPermitted()
    assignee = next((p for p in assignable(session, case) if p.id == assignee_id), None)
    if assignee is None or assignee.public_key is None:
        raise InvalidInput("that person cannot be given cases of this unit")
    new_key = crypto.PublicKey(assignee.public_key)
    changed = 0
    for envelope in case.envelopes:
        if envelope.kind == "identity":
            continue
        try:
            content_key = crypto.open_content_key(envelope.header, key)
        except crypto.UnknownRecipient:
            continue  # e.g. a note sealed before the lead could read the case
        updated = crypto.add_recipient(envelope.header, content_key, new_key)
        if updated != envelope.header:
            envelope.header, changed = updated, changed + 1
    if session.get(Assignment, (case.id, assignee.id)) is None:
        session.add(Assignment(case_id=case.id, user_id=assignee.id, assigned_by=lead.id))
    return changed
