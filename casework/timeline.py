"""The case page's timeline: what happened to a case, by whom, when, and (for readers) why.

Built from the audit log (``AuditEntry`` rows of the case, of every case merged into it,
and the links made to it from other cases), not from the workflow tables: the log is the
one record every action appends to, in the same transaction as the action, so the
timeline never shows an action that did not happen nor misses one that did. Only the
workflow's actions are shown; reading a case and downloading a file are in the auditor's
log, not here (every page view would add a line).

An entry holds codes and ids only. Its description is built here from those codes, in the
reader's language. A reason's free text is not in the log: the entry names the sealed
``reason`` envelope, which is decrypted with the reader's own key. Someone the reason was
not sealed to sees the description only; a reason that is missing, does not open or fails
its authentication shows as "not readable" (never an error page). Entries written by a
later version, or tampered with, become a generic line: the page always renders.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.storage import is_envelope_id

from .case_view import CaseView
from .config import CaseworkConfig
from .i18n import link_kind_label
from .models import AuditEntry, Case, CaseEnvelope, Conflict, LinkKind, Unit, User
from .services import Casework
from .timeline_text import Malformed, Names, _, describe, describers, details_of

# The workflow's actions, by their audit codes (the event class names in snake_case).
ACTIONS = ("case_opened", "acknowledged_automatically", "case_triaged", "cases_linked",
           "cases_unlinked", "case_merged", "stage_changed", "feedback_recorded",
           "case_assigned", "case_unassigned", "case_escalated", "case_referred",
           "conflict_declared", "case_rekeyed", "reply_sent")
# The newest entries shown; older ones stay in the auditor's log. A case with a long
# history still renders in bounded time and memory.
MAX_ITEMS = 500
# Duplicates merged into duplicates: followed this many levels, no further.
MAX_MERGE_DEPTH = 8
# A reason holds at most casework.reasons.MAX_REASON characters; JSON escapes (up to 12
# bytes for one character), the padding and the chunks' tags stay far below this. No
# more than this is read from the store, whatever the row says the body's size is.
MAX_REASON_BYTES = 128 * 1024
MAX_REASON_CHARS = 4_000
OLDER_OMITTED = "older_entries_omitted"
# A link is logged under the case it was made from; the other case shows it too, worded
# from its side (see _links_from_elsewhere).
LINK_ACTIONS = ("cases_linked", "cases_unlinked")


@dataclass(frozen=True)
class TimelineItem:
    """One line of the timeline, ready to show (every field is escaped when rendered)."""

    when: dt.datetime | None  # UTC; None only for the "older entries" note
    actor: str  # a display name, or a word for "automatic" / "unknown person"
    action: str  # the audit action code
    description: str  # plain language, in the reader's language, built from codes
    reason: str | None = None  # the decrypted reason text, for someone it was sealed to
    reason_unreadable: bool = False  # a reason exists for them but would not open
    case_reference: str | None = None  # set for an entry of a case merged into this one


# --- reasons -----------------------------------------------------------------------------


class _Unreadable(Exception):
    """A reason exists for this reader but does not open (missing, tampered, malformed)."""


def _read_reason(casework: Casework, envelope: CaseEnvelope | None,
                 key: crypto.PrivateKey, *, case_ids: frozenset[str],
                 author_id: str | None) -> str | None:
    """The reason's text for ``key``; None if it was not sealed to that key.

    The entry's pointer is checked against the envelope it names: a reason of this case
    (or one merged into it), sealed as a reason, by the person the entry names. A log row
    pointing at another item (a note, another case's reason) shows nothing of it.
    """
    if envelope is None or envelope.kind != EnvelopeKind.REASON \
            or envelope.case_id not in case_ids or envelope.author_id != author_id \
            or envelope.body_size > MAX_REASON_BYTES:
        raise _Unreadable()
    try:
        content_key = crypto.open_content_key(envelope.header, key)
    except crypto.UnknownRecipient:
        return None  # not sealed to this reader (added later, or removed by a rekey)
    except crypto.CryptoError as exc:
        raise _Unreadable() from exc
    try:
        with casework.store.open(envelope.body_name) as body:
            sealed = body.read(MAX_REASON_BYTES + 1)
        if len(sealed) > MAX_REASON_BYTES:
            raise _Unreadable()
        out = io.BytesIO()
        opened = crypto.decrypt_body(io.BytesIO(sealed), out, content_key)
        payload = json.loads(out.getvalue())
    except (OSError, ValueError, crypto.CryptoError) as exc:
        raise _Unreadable() from exc
    # The routing is authenticated with the body: a note relabelled "reason" in its row
    # still says "note" here.
    if opened.routing.get("kind") != EnvelopeKind.REASON.value or not isinstance(payload, dict):
        raise _Unreadable()
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REASON_CHARS:
        raise _Unreadable()
    return text


# --- the timeline ------------------------------------------------------------------------


def _case_ids(session: Session, case: Case) -> dict[str, str]:
    """The case and the cases merged into it (transitively, bounded): id -> reference."""
    found = {case.id: case.reference}
    frontier = {case.id}
    for _level in range(MAX_MERGE_DEPTH):
        rows = session.execute(select(Case.id, Case.reference).where(
            Case.merged_into_id.in_(frontier))).all()
        frontier = {i for i, _ref in rows if i not in found}
        if not frontier:
            break
        found.update((i, ref) for i, ref in rows if i in frontier)
    return found


def _names(session: Session, config: CaseworkConfig,
           parsed: Iterable[tuple[AuditEntry, dict[str, Any] | None]],
           known_cases: Mapping[str, str]) -> Names:
    people: set[str] = set()
    cases: set[str] = set()
    for entry, details in parsed:
        if entry.actor_id:
            people.add(entry.actor_id)
        if entry.case_id:
            cases.add(entry.case_id)  # a link made from another case names that case
        if details is None:
            continue
        people.update(p for k in ("user_id", "requester_id")
                      if isinstance(p := details.get(k), str))
        cases.update(v for k in ("linked_case_id", "into_case_id")
                     if isinstance(v := details.get(k), str))
    cases -= set(known_cases)
    return Names(
        people={i: name for i, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(people)))} if people else {},
        cases={**known_cases, **({i: ref for i, ref in session.execute(
            select(Case.id, Case.reference).where(Case.id.in_(cases)))} if cases else {})},
        units={u.id: u for u in session.scalars(select(Unit))}, config=config)


def _conflict_reasons(session: Session, case_ids: Iterable[str]) -> dict[tuple[str, str], str]:
    """(case, declarer) -> the reason sealed with a declared conflict.

    ``ConflictDeclared`` names no reason (the event came first); the conflict's row does.
    """
    rows = session.execute(select(Conflict.case_id, Conflict.user_id,
                                  Conflict.reason_envelope_id).where(
        Conflict.case_id.in_(case_ids), Conflict.reason_envelope_id.is_not(None)))
    return {(case_id, user_id): reason for case_id, user_id, reason in rows if reason}


def _parse(entry: AuditEntry, conflicts: Mapping[tuple[str, str], str]) -> dict[str, Any] | None:
    """The entry's details (None if malformed), with a declared conflict's reason."""
    try:
        details = details_of(entry)
    except Malformed:
        return None
    if entry.action == "conflict_declared" and "reason_envelope_id" not in details \
            and entry.case_id is not None and entry.actor_id is not None:
        reason = conflicts.get((entry.case_id, entry.actor_id))
        if reason is not None:
            details = {**details, "reason_envelope_id": reason}
    return details


def _reason_envelopes(session: Session,
                      parsed: Iterable[tuple[AuditEntry, dict[str, Any] | None]]
                      ) -> dict[str, CaseEnvelope]:
    ids = {v for _entry, d in parsed if d is not None
           and is_envelope_id(v := d.get("reason_envelope_id"))}
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(CaseEnvelope).where(
        CaseEnvelope.id.in_(ids)))}


def _links_from_elsewhere(session: Session, case_ids: Iterable[str]) -> list[AuditEntry]:
    """Link entries of other cases whose ``linked_case_id`` is one of ``case_ids``.

    The details are canonical JSON (``casework.audit.chain``), so the id appears exactly
    as ``"linked_case_id":"<id>"``; the action index narrows the rows to links, and the
    parsed details are checked again, so a near match (or a malformed entry) shows nothing.
    """
    ids = list(case_ids)
    named = or_(*(AuditEntry.details.contains(f'"linked_case_id":"{i}"', autoescape=True)
                  for i in ids))
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.in_(LINK_ACTIONS), AuditEntry.case_id.not_in(ids), named)
        .order_by(AuditEntry.seq.desc()).limit(MAX_ITEMS + 1))
    found = []
    for entry in rows:
        try:
            if details_of(entry).get("linked_case_id") in ids:
                found.append(entry)
        except Malformed:
            continue
    return found


def _mirrored(entry: AuditEntry, details: Mapping[str, Any], names: Names) -> str:
    """A link made from another case, worded from this case's side."""
    other = names.case(entry.case_id or "")
    if entry.action == "cases_unlinked":
        return _("Link from case %(reference)s removed", reference=other)
    try:
        kind = LinkKind(str(details.get("kind")))
    except ValueError as exc:
        raise Malformed() from exc
    if kind == LinkKind.DUPLICATE:
        return _("Case %(reference)s was marked as a duplicate of this case",
                 reference=other)
    return _("Linked from case %(reference)s (%(kind)s)", reference=other,
             kind=link_kind_label(kind.value))


def case_timeline(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> list[TimelineItem]:
    """The case's workflow history, oldest first (the newest :data:`MAX_ITEMS`).

    ``view`` is the case as :func:`casework.case_view.open_case` opened it for ``user``:
    the access check has passed. Reasons are decrypted with ``key``, never anyone else's.
    """
    case = view.case
    references = _case_ids(session, case)
    rows = list(session.scalars(
        select(AuditEntry)
        .where(AuditEntry.case_id.in_(references),
               AuditEntry.action.in_(tuple(describers())))
        .order_by(AuditEntry.seq.desc()).limit(MAX_ITEMS + 1)))
    # Two queries, each on its own index, merged newest first.
    rows = sorted([*rows, *_links_from_elsewhere(session, references)],
                  key=lambda e: e.seq, reverse=True)[:MAX_ITEMS + 1]
    more = len(rows) > MAX_ITEMS
    rows = rows[:MAX_ITEMS][::-1]
    conflicts = _conflict_reasons(session, references) \
        if any(e.action == "conflict_declared" for e in rows) else {}
    parsed = [(entry, _parse(entry, conflicts)) for entry in rows]
    names = _names(session, casework.config, parsed, references)
    envelopes = _reason_envelopes(session, parsed)
    items = [TimelineItem(when=None, actor="", action=OLDER_OMITTED, description=_(
        "Older entries are not shown here; the audit log holds them."))] if more else []
    for entry, details in parsed:
        items.append(_item(casework, entry, details, names, envelopes, key,
                           case.id, frozenset(references)))
    return items


def _item(casework: Casework, entry: AuditEntry, details: dict[str, Any] | None,
          names: Names, envelopes: Mapping[str, CaseEnvelope],
          key: crypto.PrivateKey | None, case_id: str,
          case_ids: frozenset[str]) -> TimelineItem:
    # A link made from another case (_links_from_elsewhere checked that it names this one).
    mirrored = entry.case_id not in case_ids
    if mirrored and details is not None:
        try:
            description = _mirrored(entry, details, names)
        except Malformed:
            description = describe("", {}, names)
    else:
        description = describe(entry.action if details is not None else "", details or {},
                               names)
    reason: str | None = None
    unreadable = False
    pointer = details.get("reason_envelope_id") if details is not None else None
    if pointer is not None and key is not None:
        try:
            reason = _read_reason(casework, envelopes.get(pointer) if isinstance(
                pointer, str) else None, key, case_ids=case_ids, author_id=entry.actor_id)
        except _Unreadable:
            unreadable = True
    merged_from = entry.case_id if entry.case_id != case_id and not mirrored else None
    return TimelineItem(
        when=entry.at, actor=names.person(entry.actor_id), action=entry.action,
        description=description, reason=reason, reason_unreadable=unreadable,
        case_reference=names.case(merged_from) if merged_from else None)


__all__ = ["ACTIONS", "MAX_ITEMS", "OLDER_OMITTED", "TimelineItem", "case_timeline",
           "describe"]
