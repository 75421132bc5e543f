"""The case page's timeline: what happened to a case, by whom, when, and (for readers) why.

Built from the audit log (``AuditEntry`` rows of the case, and of every case merged into
it), not from the workflow tables: the log is the one record every action appends to, in
the same transaction as the action, so the timeline never shows an action that did not
happen nor misses one that did. Only the workflow's actions are shown; reading a case and
downloading a file are in the auditor's log, not here (every page view would add a line).

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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.storage import is_envelope_id

from .case_view import CaseView
from .i18n import outcome_label, stage_label, unit_label
from .models import AuditEntry, Case, CaseEnvelope, Unit, User
from .services import Casework

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
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


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


def _(text: str, **variables: object) -> str:
    """flask_babel's gettext, typed (the catalogue tools find the calls by this name)."""
    return str(gettext(text, **variables))


class _Malformed(Exception):
    """An entry's details are not what its action writes (a later version, or tampering)."""


@dataclass
class _Names:
    """What descriptions name, looked up once for the whole timeline (no query per line)."""

    people: dict[str, str]
    cases: dict[str, str]
    units: dict[str, Unit]

    def person(self, user_id: str | None) -> str:
        if user_id is None:
            return _("Lykta (automatic)")
        return self.people.get(user_id, _("an unknown person"))

    def case(self, case_id: str) -> str:
        return self.cases.get(case_id, _("another case"))

    def unit(self, unit_id: str) -> str:
        return unit_label(self.units.get(unit_id), unit_id)


# --- reading an entry's details, strictly -----------------------------------------------


def _details(entry: AuditEntry) -> dict[str, Any]:
    try:
        parsed = json.loads(entry.details)
    except (TypeError, ValueError) as exc:
        raise _Malformed() from exc
    if not isinstance(parsed, dict):
        raise _Malformed()
    return parsed


def _text(details: Mapping[str, Any], name: str) -> str:
    value = details.get(name)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise _Malformed()
    return value


def _code(details: Mapping[str, Any], name: str) -> str:
    # Codes are shown as they are when no label is known: only a code's shape is accepted.
    value = _text(details, name)
    if not _CODE.fullmatch(value):
        raise _Malformed()
    return value


def _optional_code(details: Mapping[str, Any], name: str) -> str | None:
    return None if details.get(name) is None else _code(details, name)


def _count(details: Mapping[str, Any], name: str) -> int:
    value = details.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**9:
        raise _Malformed()
    return value


# --- labels ------------------------------------------------------------------------------


def _reason_code_label(code: str) -> str:
    return code  # the code itself until casework.i18n labels reason codes


def _link_kind_label(code: str) -> str:
    return {"related": _("related"), "duplicate": _("duplicate")}.get(code, code)


def _triage_field_label(name: str) -> str | None:
    return {"category": _("category"), "agency": _("agency"), "priority": _("priority"),
            "labels": _("labels"), "agency_other": _("agency")}.get(name)


def _with_reason_code(sentence: str, details: Mapping[str, Any]) -> str:
    code = _optional_code(details, "reason_code")
    if code is None:
        return sentence
    return _("%(sentence)s (reason: %(reason)s)", sentence=sentence,
             reason=_reason_code_label(code))


# --- one description per action ----------------------------------------------------------

Describe = Callable[[Mapping[str, Any], _Names], str]


def _opened(details: Mapping[str, Any], names: _Names) -> str:
    return _("Case opened from a report to %(unit)s", unit=names.unit(_code(details, "unit_id")))


def _acknowledged(_details: Mapping[str, Any], _names: _Names) -> str:
    return _("Receipt acknowledged to the tipster automatically")


def _triaged(details: Mapping[str, Any], _names: _Names) -> str:
    changed = details.get("changed", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise _Malformed()
    labels = list(dict.fromkeys(lbl for c in changed if (lbl := _triage_field_label(c))))
    if not labels:
        return _("Triaged")
    return _("Triaged: %(fields)s set", fields=", ".join(labels))


def _linked(details: Mapping[str, Any], names: _Names) -> str:
    other = names.case(_code(details, "linked_case_id"))
    if _code(details, "kind") == "duplicate":
        return _("Marked as a duplicate of case %(reference)s", reference=other)
    return _("Linked to case %(reference)s (%(kind)s)", reference=other,
             kind=_link_kind_label(_code(details, "kind")))


def _unlinked(details: Mapping[str, Any], names: _Names) -> str:
    return _("Link to case %(reference)s removed",
             reference=names.case(_code(details, "linked_case_id")))


def _merged(details: Mapping[str, Any], names: _Names) -> str:
    return _("Merged into case %(reference)s",
             reference=names.case(_code(details, "into_case_id")))


def _stage_changed(details: Mapping[str, Any], _names: _Names) -> str:
    before = stage_label(_code(details, "from_stage"))
    after = stage_label(_code(details, "to_stage"))
    outcome = _optional_code(details, "outcome")
    reopened = details.get("reopened", False)
    if not isinstance(reopened, bool):
        raise _Malformed()
    if reopened:
        sentence = _("Reopened: from %(before)s to %(after)s", before=before, after=after)
    elif outcome is not None:
        sentence = _("Stage changed from %(before)s to %(after)s, outcome: %(outcome)s",
                     before=before, after=after, outcome=outcome_label(outcome))
    else:
        sentence = _("Stage changed from %(before)s to %(after)s", before=before,
                     after=after)
    return _with_reason_code(sentence, details)


def _feedback(_details: Mapping[str, Any], _names: _Names) -> str:
    return _("A reply was recorded as the feedback to the tipster")


def _assigned(details: Mapping[str, Any], names: _Names) -> str:
    return _("Assigned to %(person)s", person=names.person(_code(details, "user_id")))


def _unassigned(details: Mapping[str, Any], names: _Names) -> str:
    return _("%(person)s was taken off the case",
             person=names.person(_code(details, "user_id")))


def _escalated(details: Mapping[str, Any], names: _Names) -> str:
    unit = names.unit(_code(details, "destination"))
    added = _count(details, "readers_added")
    _code(details, "kind")  # unit or kof: the destination's name says which
    sentence = _("Escalated to %(unit)s (%(count)s readers added)", unit=unit, count=added)
    return _with_reason_code(sentence, details)


def _referred(details: Mapping[str, Any], _names: _Names) -> str:
    sentence = _("Referred to an external authority: %(authority)s",
                 authority=_code(details, "authority"))
    return _with_reason_code(sentence, details)


def _conflict(_details: Mapping[str, Any], _names: _Names) -> str:
    return _("Declared a conflict of interest; the case awaits rekeying")


def _rekeyed(details: Mapping[str, Any], _names: _Names) -> str:
    return _("Rekeyed after a declared conflict: %(envelopes)s items re-encrypted, "
             "%(removed)s people removed", envelopes=_count(details, "envelopes"),
             removed=_count(details, "removed"))


def _replied(_details: Mapping[str, Any], _names: _Names) -> str:
    return _("Replied to the tipster")


DESCRIBE: dict[str, Describe] = {
    "case_opened": _opened, "acknowledged_automatically": _acknowledged,
    "case_triaged": _triaged, "cases_linked": _linked, "cases_unlinked": _unlinked,
    "case_merged": _merged, "stage_changed": _stage_changed,
    "feedback_recorded": _feedback, "case_assigned": _assigned,
    "case_unassigned": _unassigned, "case_escalated": _escalated,
    "case_referred": _referred, "conflict_declared": _conflict,
    "case_rekeyed": _rekeyed, "reply_sent": _replied,
}


def describe(action: str, details: Mapping[str, Any], names: _Names) -> str:
    """The plain-language line for one entry; a generic line when it cannot be read."""
    describer = DESCRIBE.get(action)
    if describer is not None:
        try:
            return describer(details, names)
        except _Malformed:
            pass
    return _("An action was recorded whose details cannot be shown")


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


def _names(session: Session, parsed: Iterable[tuple[AuditEntry, dict[str, Any] | None]],
           known_cases: Mapping[str, str]) -> _Names:
    people: set[str] = set()
    cases: set[str] = set()
    for entry, details in parsed:
        if entry.actor_id:
            people.add(entry.actor_id)
        if details is None:
            continue
        if isinstance(person := details.get("user_id"), str):
            people.add(person)
        cases.update(v for k in ("linked_case_id", "into_case_id")
                     if isinstance(v := details.get(k), str))
    cases -= set(known_cases)
    return _Names(
        people=dict(session.execute(select(User.id, User.display_name).where(
            User.id.in_(people))).tuples().all()) if people else {},
        cases={**known_cases, **(dict(session.execute(select(Case.id, Case.reference).where(
            Case.id.in_(cases))).tuples().all()) if cases else {})},
        units={u.id: u for u in session.scalars(select(Unit))})


def _reason_envelopes(session: Session,
                      parsed: Iterable[tuple[AuditEntry, dict[str, Any] | None]]
                      ) -> dict[str, CaseEnvelope]:
    ids = {v for _entry, d in parsed if d is not None
           and is_envelope_id(v := d.get("reason_envelope_id"))}
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(CaseEnvelope).where(
        CaseEnvelope.id.in_(ids)))}


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
        .where(AuditEntry.case_id.in_(references), AuditEntry.action.in_(ACTIONS))
        .order_by(AuditEntry.seq.desc()).limit(MAX_ITEMS + 1)))
    more = len(rows) > MAX_ITEMS
    rows = rows[:MAX_ITEMS][::-1]
    parsed: list[tuple[AuditEntry, dict[str, Any] | None]] = []
    for entry in rows:
        try:
            parsed.append((entry, _details(entry)))
        except _Malformed:
            parsed.append((entry, None))
    names = _names(session, parsed, references)
    envelopes = _reason_envelopes(session, parsed)
    items = [TimelineItem(when=None, actor="", action=OLDER_OMITTED, description=_(
        "Older entries are not shown here; the audit log holds them."))] if more else []
    for entry, details in parsed:
        items.append(_item(casework, entry, details, names, envelopes, key,
                           case.id, frozenset(references)))
    return items


def _item(casework: Casework, entry: AuditEntry, details: dict[str, Any] | None,
          names: _Names, envelopes: Mapping[str, CaseEnvelope],
          key: crypto.PrivateKey | None, case_id: str,
          case_ids: frozenset[str]) -> TimelineItem:
    description = describe(entry.action if details is not None else "", details or {}, names)
    reason: str | None = None
    unreadable = False
    pointer = details.get("reason_envelope_id") if details is not None else None
    if pointer is not None and key is not None:
        try:
            reason = _read_reason(casework, envelopes.get(pointer) if isinstance(
                pointer, str) else None, key, case_ids=case_ids, author_id=entry.actor_id)
        except _Unreadable:
            unreadable = True
    merged_from = entry.case_id if entry.case_id != case_id else None
    return TimelineItem(
        when=entry.at, actor=names.person(entry.actor_id), action=entry.action,
        description=description, reason=reason, reason_unreadable=unreadable,
        case_reference=names.case(merged_from) if merged_from else None)


__all__ = ["ACTIONS", "MAX_ITEMS", "OLDER_OMITTED", "TimelineItem", "case_timeline",
           "describe"]
