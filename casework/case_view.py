"""Reading a case: what is decrypted, how much, and who each item is shown as from."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import bleach
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import Markup
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind, Outcome, Stage
from common.unit_of_work import emit_on
from common.vocabulary import agency_code

from .errors import CaseworkError, InvalidInput, NotPermitted
from .events import CaseRead, FileDownloaded
from .i18n import StatusText
from .models import Case, CaseEnvelope, Conflict, Escalation, EscalationKind, User
from .readers import (
    READING_ROLES,
    ReadersTampered,
    establish_tag,
    report_content_key,
    report_envelope,
)
from .services import Casework

# What is decrypted into memory per item, in encrypted (padded) bytes. A message or note
# holds at most 20,000 characters and a list of file names, far below this; anything
# larger (a compromised intake could send 600 MiB) is not decrypted on a page view but
# offered as a streamed download.
MAX_SHOWN_BYTES = 1024 * 1024
# The small markup staff may use in notes; everything else is stripped.
ALLOWED_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "ul", "ol", "li"})
# Never shown inline nor offered for download: the identity is in custody (two layers,
# crypto/FORMAT.md) and opens only through casework.identity, after a custodian's release;
# a reader's key alone does not open it (and must not be tried on it here).
NOT_DOWNLOADABLE = frozenset({"identity"})


class ItemTooLarge(CaseworkError):
    """The report is larger than any report intake accepts: it is not decrypted."""

    status = 413
    title = _l("The report is too large to show")
    explanation = _l("Its sealed size is beyond any report intake accepts; it was not "
                     "decrypted. Tell the security officer.")


def refusal(message: LazyString) -> InvalidInput:
    """An :class:`InvalidInput` whose message is translated when shown, not when raised."""
    return InvalidInput(message)


def clean_markup(text: str) -> Markup:
    """Staff markup, cleaned with bleach: only a few harmless tags survive."""
    cleaned = bleach.clean(text, tags=ALLOWED_TAGS, attributes={}, strip=True)
    return Markup(cleaned)  # noqa: S704 (bleach removed every tag and attribute not allowed)


@dataclass
class CaseView:
    """A decrypted case, as one reader sees it."""

    case: Case
    report: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    dialogue: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0


def readable_case(session: Session, user: User, key: crypto.PrivateKey | None,
                  case_id: str) -> Case:
    """The case, if ``user`` may read it with ``key``; the same refusal for "no such case".

    Answered without decrypting anything: the case must be of a unit where ``user``
    reads, and ``key`` must have an entry in the report envelope's recipient header (key
    ids are readable without any key). That header is the reference list of readers
    (``case_readers`` is its index, kept in step on every flush by casework.readers): a
    reviewer of the unit whom the tipster left out is not in it, and is refused here
    exactly as for a case that does not exist.
    """
    case = session.get(Case, case_id)
    # Same answer for "no such case", "another unit's case" and "not a reader": ids
    # reveal nothing.
    units = user.units_with(*READING_ROLES)
    if case is None or key is None:
        raise NotPermitted()
    if case.unit_id not in units and not session.scalar(select(exists().where(
            Escalation.case_id == case.id,
            Escalation.kind.in_((EscalationKind.UNIT.value, EscalationKind.KOF.value)),
            Escalation.destination.in_(units)))):
        raise NotPermitted()  # neither the case's unit nor one it was escalated to
    if session.scalar(select(exists().where(Conflict.case_id == case.id,
                                            Conflict.user_id == user.id))):
        # A declared conflict of interest refuses at once and for good: before the case
        # is rekeyed the declarer's key still opens it, so this check is what stops them.
        raise NotPermitted()
    report = report_envelope(case)
    if report is None or crypto.key_id_of(key.public_key.raw) \
            not in crypto.header_key_ids(report.header):
        raise NotPermitted()
    return case


def _decrypt(casework: Casework, envelope: CaseEnvelope,
             content_key: crypto.ContentKey) -> bytes:
    if envelope.body_size > MAX_SHOWN_BYTES:
        raise ItemTooLarge()  # checked before a byte is read, whatever the caller checked
    out = io.BytesIO()
    with casework.store.open(envelope.body_name) as body:
        crypto.decrypt_body(body, out, content_key)
    return out.getvalue()


def read_report(casework: Casework, case: Case,
                content_key: crypto.ContentKey) -> dict[str, Any]:
    """The decrypted report (bounded in size)."""
    report = next((e for e in case.envelopes if e.kind == EnvelopeKind.REPORT), None)
    if report is None:
        raise NotPermitted()
    payload = json.loads(_decrypt(casework, report, content_key))
    if not isinstance(payload, dict):
        raise crypto.TamperedEnvelope("the report is not a JSON object")
    return payload


def ensure_reader_tag(casework: Casework, session: Session, case: Case,
                      content_key: crypto.ContentKey) -> None:
    """Tag the case's reader list if no reader has yet (needs the report's exclusions)."""
    if case.readers_tag is None:
        establish_tag(session, case, content_key, read_report(casework, case, content_key))


def _attachments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    # Sealed by the tipster's side: a compromised intake may put anything here.
    listed = payload.get("attachments")
    return [a for a in listed if isinstance(a, dict) and isinstance(a.get("envelope_id"), str)] \
        if isinstance(listed, list) else []


def _authors(session: Session, case: Case) -> dict[str, str]:
    ids = {e.author_id for e in case.envelopes if e.author_id}
    return {i: u.display_name for i in ids if (u := session.get(User, i)) is not None}


def _tipster_item(item: dict[str, Any], envelope: CaseEnvelope) -> dict[str, Any]:
    # Whatever the payload says about its author or kind: it came over the bridge, so
    # it is the tipster's (a compromised intake must not put words in staff's mouths).
    return {"author": "tipster", "text": str(item.get("text", "")),
            "sent_at": str(item.get("sent_at", "")), "envelope_id": envelope.id}


def _too_large(envelope: CaseEnvelope, author: str, by: str | None) -> dict[str, Any]:
    return {"author": author, "by": by, "too_large": True, "size": envelope.body_size,
            "envelope_id": envelope.id, "sent_at": envelope.created_at.isoformat()}


def _staff_author(envelope: CaseEnvelope, authors: dict[str, str]) -> tuple[str, str | None]:
    if envelope.author_id is not None:
        return "staff", authors.get(envelope.author_id, "?")
    return "automatic", None


def open_case(casework: Casework, session: Session, user: User,
              key: crypto.PrivateKey | None, case_id: str) -> CaseView:
    """Decrypt a case for ``user``. Refused outside their units or without a header entry."""
    view = _open_case(casework, session, user, key, case_id)
    emit_on(session, CaseRead(view.case.id, user.id))
    return view


def _open_case(casework: Casework, session: Session, user: User,
               key: crypto.PrivateKey | None, case_id: str) -> CaseView:
    case = readable_case(session, user, key, case_id)
    content_key = report_content_key(case, key)
    report = read_report(casework, case, content_key)
    if case.agency is None and report.get("agency"):
        # Only the fixed code: a typed "other agency" stays in the sealed report.
        case.agency = agency_code(str(report["agency"]))
    # A reader list that fails its check is logged and left untagged: reading stays
    # possible, sealing anything new to it is refused.
    with contextlib.suppress(ReadersTampered):
        ensure_reader_tag(casework, session, case, content_key)
    view = CaseView(case=case, report=report)
    names = {a["envelope_id"]: a for a in _attachments(report)}
    authors = _authors(session, case)
    for envelope in case.envelopes:
        # A reason's free text belongs to the timeline (casework.reasons.read_reason), not
        # to the dialogue or the notes; a reporter's answer to minutes to the oral section.
        if envelope.kind in ("report", "identity", EnvelopeKind.REASON,
                             EnvelopeKind.MINUTES_APPROVED, EnvelopeKind.MINUTES_CORRECTED):
            continue
        if envelope.kind == EnvelopeKind.FILE:
            view.files.append({"envelope_id": envelope.id, **names.get(envelope.id, {}),
                               "size": envelope.body_size})
            continue
        _add_item(casework, view, envelope, key, names, authors)
    for entry in view.files:
        entry.update({k: v for k, v in names.get(entry["envelope_id"], {}).items()
                      if k != "size"})
    view.dialogue.sort(key=lambda i: str(i.get("sent_at", "")))
    view.notes.sort(key=lambda i: str(i.get("sent_at", "")))
    return view


def _add_item(casework: Casework, view: CaseView, envelope: CaseEnvelope,
              key: crypto.PrivateKey | None, names: dict[str, Any],
              authors: dict[str, str]) -> None:
    """One message or note, placed by where it came from, never by what it claims."""
    from_intake = envelope.origin == "intake"
    staff, by = _staff_author(envelope, authors)
    if not from_intake and staff == "automatic" and envelope.kind == EnvelopeKind.STATUS:
        _add_status(casework, view, envelope, key)
        return
    if not from_intake and staff == "automatic" and envelope.kind != "message":
        view.unreadable += 1  # a casework note without an author: not something we seal
        return
    if envelope.body_size > MAX_SHOWN_BYTES:
        item = _too_large(envelope, "tipster" if from_intake else staff, by)
        (view.notes if envelope.kind == EnvelopeKind.NOTE and not from_intake
         else view.dialogue).append(item)
        return
    try:
        assert key is not None  # noqa: S101 (open_case opened the report with it)
        payload = json.loads(_decrypt(casework, envelope, crypto.open_content_key(
            envelope.header, key)))
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except (crypto.DecryptionError, ValueError):
        view.unreadable += 1
        return
    if from_intake:
        for attachment in _attachments(payload):
            names[attachment["envelope_id"]] = attachment
        view.dialogue.append(_tipster_item(payload, envelope))
        return
    if staff == "automatic" and payload.get("automatic") is not True:
        view.unreadable += 1  # claims to be casework's but no one of casework wrote it
        return
    text = str(payload.get("text", ""))
    item = {"author": staff, "by": by, "text": text, "html": clean_markup(text),
            "sent_at": str(payload.get("sent_at", "")), "envelope_id": envelope.id}
    (view.notes if envelope.kind == EnvelopeKind.NOTE else view.dialogue).append(item)


def _add_status(casework: Casework, view: CaseView, envelope: CaseEnvelope,
                key: crypto.PrivateKey | None) -> None:
    """A status casework sealed for the tipster, shown as what the tipster was told.

    Only the codes are read (stage, outcome, reopened, the referral's public name) and
    put into words when the page is rendered; a payload without a known stage is counted
    as unreadable rather than shown.
    """
    try:
        assert key is not None  # noqa: S101 (open_case opened the report with it)
        if envelope.body_size > MAX_SHOWN_BYTES:
            raise ValueError("too large for a status")
        payload = json.loads(_decrypt(casework, envelope, crypto.open_content_key(
            envelope.header, key)))
        if not isinstance(payload, dict) or payload.get("type") != "status":
            raise ValueError("not a status")
        stage = Stage(str(payload.get("stage")))
        outcome = Outcome(str(payload["outcome"])) if payload.get("outcome") else None
    except (crypto.DecryptionError, ValueError):
        view.unreadable += 1
        return
    names = payload.get("referred_to_name")
    referred = tuple((str(k), str(v)) for k, v in names.items()) \
        if isinstance(names, dict) else ()
    view.dialogue.append({
        "author": "status", "by": None, "envelope_id": envelope.id,
        "sent_at": str(payload.get("sent_at", "")), "stage": stage.value,
        "outcome": outcome.value if outcome else None,
        "text": StatusText(stage.value, outcome.value if outcome else None,
                           payload.get("reopened") is True, referred)})


def plaintext_of(casework: Casework, session: Session, user: User,
                 key: crypto.PrivateKey | None, case_id: str,
                 envelope_id: str) -> tuple[Iterator[bytes], dict[str, Any]]:
    """Stream one item's plaintext (a file, or a message too large to show).

    Nothing is held in memory beyond one chunk. Each chunk is authenticated before it is
    yielded; a truncated body fails at its end, which aborts the download.
    """
    view = _open_case(casework, session, user, key, case_id)
    envelope = session.get(CaseEnvelope, envelope_id)
    if envelope is None or envelope.case_id != case_id or key is None \
            or envelope.kind in NOT_DOWNLOADABLE or envelope.kind == EnvelopeKind.REPORT:
        raise NotPermitted()
    entry = next((f for f in view.files if f["envelope_id"] == envelope_id), None)
    if entry is None:
        if envelope.body_size <= MAX_SHOWN_BYTES:
            raise NotPermitted()  # shown on the page; only files and large items download
        entry = {"envelope_id": envelope_id, "filename": f"message-{envelope_id}.json"}
    try:
        content_key = crypto.open_content_key(envelope.header, key)
    except crypto.UnknownRecipient as exc:
        raise NotPermitted() from exc
    store, item_id = casework.store, envelope.body_name
    emit_on(session, FileDownloaded(case_id, envelope_id, user.id))

    def stream() -> Iterator[bytes]:
        with store.open(item_id) as body:
            yield from crypto.body_plaintext(body, content_key)

    return stream(), entry

