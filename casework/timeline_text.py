"""The timeline's words: one plain-language line per audit action, built from codes.

An entry's details are read strictly: each action's describer takes exactly the fields
its event writes, of the types it writes them (codes of a code's shape, counts as
non-negative integers). Anything else (an entry of a later version, or one edited in the
database) raises :class:`Malformed`, and :func:`describe` gives a generic line instead:
the case page renders whatever the log holds, and shows nothing it cannot vouch for.
Names (people, cases, units, authorities) are looked up once per timeline, in
:class:`Names`, never per line.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale, gettext

from .config import CaseworkConfig
from .i18n import link_kind_label, outcome_label, reason_label, stage_label, unit_label
from .models import AuditEntry, Unit

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


def _(text: str, **variables: object) -> str:
    """flask_babel's gettext, typed (the catalogue tools find the calls by this name)."""
    return str(gettext(text, **variables))


class Malformed(Exception):
    """An entry's details are not what its action writes (a later version, or tampering)."""


@dataclass
class Names:
    """What descriptions name, looked up once for the whole timeline (no query per line)."""

    people: dict[str, str]
    cases: dict[str, str]
    units: dict[str, Unit]
    config: CaseworkConfig

    def person(self, user_id: str | None) -> str:
        if user_id is None:
            return _("Lykta (automatic)")
        return self.people.get(user_id, _("an unknown person"))

    def case(self, case_id: str) -> str:
        return self.cases.get(case_id, _("another case"))

    def unit(self, unit_id: str) -> str:
        return unit_label(self.units.get(unit_id), unit_id)

    def authority(self, code: str) -> str:
        """A referral authority's public name (the code, if no longer configured)."""
        found = self.config.referral_authority(code)
        if found is None:
            return code
        locale = get_locale()
        return found.name_en if locale is not None and locale.language == "en" \
            else found.name_sv


# --- reading an entry's details, strictly -----------------------------------------------


def details_of(entry: AuditEntry) -> dict[str, Any]:
    """The entry's details as a JSON object; :class:`Malformed` for anything else."""
    try:
        parsed = json.loads(entry.details)
    except (TypeError, ValueError) as exc:
        raise Malformed() from exc
    if not isinstance(parsed, dict):
        raise Malformed()
    return parsed


def _text(details: Mapping[str, Any], name: str) -> str:
    value = details.get(name)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise Malformed()
    return value


def _code(details: Mapping[str, Any], name: str) -> str:
    # Codes are shown as they are when no label is known: only a code's shape is accepted.
    value = _text(details, name)
    if not _CODE.fullmatch(value):
        raise Malformed()
    return value


def _optional_code(details: Mapping[str, Any], name: str) -> str | None:
    return None if details.get(name) is None else _code(details, name)


def _count(details: Mapping[str, Any], name: str) -> int:
    value = details.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**9:
        raise Malformed()
    return value


# --- labels ------------------------------------------------------------------------------


def _triage_field_label(name: str) -> str | None:
    return {"category": _("category"), "agency": _("agency"), "priority": _("priority"),
            "labels": _("labels"), "agency_other": _("agency")}.get(name)


def _with_reason_code(sentence: str, details: Mapping[str, Any]) -> str:
    code = _optional_code(details, "reason_code")
    if code is None:
        return sentence
    return _("%(sentence)s (reason: %(reason)s)", sentence=sentence,
             reason=reason_label(code))


# --- one description per action ----------------------------------------------------------

Describe = Callable[[Mapping[str, Any], Names], str]


def _opened(details: Mapping[str, Any], names: Names) -> str:
    return _("Case opened from a report to %(unit)s", unit=names.unit(_code(details, "unit_id")))


def _acknowledged(_details: Mapping[str, Any], _names: Names) -> str:
    return _("Receipt acknowledged to the tipster automatically")


def _triaged(details: Mapping[str, Any], _names: Names) -> str:
    changed = details.get("changed", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise Malformed()
    labels = list(dict.fromkeys(lbl for c in changed if (lbl := _triage_field_label(c))))
    if not labels:
        return _("Triaged")
    return _("Triaged: %(fields)s set", fields=", ".join(labels))


def _linked(details: Mapping[str, Any], names: Names) -> str:
    other = names.case(_code(details, "linked_case_id"))
    if _code(details, "kind") == "duplicate":
        return _("Marked as a duplicate of case %(reference)s", reference=other)
    return _("Linked to case %(reference)s (%(kind)s)", reference=other,
             kind=link_kind_label(_code(details, "kind")))


def _unlinked(details: Mapping[str, Any], names: Names) -> str:
    return _("Link to case %(reference)s removed",
             reference=names.case(_code(details, "linked_case_id")))


def _merged(details: Mapping[str, Any], names: Names) -> str:
    return _("Merged into case %(reference)s",
             reference=names.case(_code(details, "into_case_id")))


def _stage_changed(details: Mapping[str, Any], _names: Names) -> str:
    before = stage_label(_code(details, "from_stage"))
    after = stage_label(_code(details, "to_stage"))
    outcome = _optional_code(details, "outcome")
    reopened = details.get("reopened", False)
    if not isinstance(reopened, bool):
        raise Malformed()
    if reopened:
        sentence = _("Reopened: from %(before)s to %(after)s", before=before, after=after)
    elif outcome is not None:
        sentence = _("Stage changed from %(before)s to %(after)s, outcome: %(outcome)s",
                     before=before, after=after, outcome=outcome_label(outcome))
    else:
        sentence = _("Stage changed from %(before)s to %(after)s", before=before,
                     after=after)
    return _with_reason_code(sentence, details)


def _feedback(_details: Mapping[str, Any], _names: Names) -> str:
    return _("A reply was recorded as the feedback to the tipster")


def _assigned(details: Mapping[str, Any], names: Names) -> str:
    return _("Assigned to %(person)s", person=names.person(_code(details, "user_id")))


def _unassigned(details: Mapping[str, Any], names: Names) -> str:
    return _("%(person)s was taken off the case",
             person=names.person(_code(details, "user_id")))


def _escalated(details: Mapping[str, Any], names: Names) -> str:
    unit = names.unit(_code(details, "destination"))
    added = _count(details, "readers_added")
    _code(details, "kind")  # unit or kof: the destination's name says which
    sentence = _("Escalated to %(unit)s (readers added: %(count)s)", unit=unit, count=added)
    return _with_reason_code(sentence, details)


def _referred(details: Mapping[str, Any], names: Names) -> str:
    sentence = _("Referred to an external authority: %(authority)s",
                 authority=names.authority(_code(details, "authority")))
    return _with_reason_code(sentence, details)


def _conflict(_details: Mapping[str, Any], _names: Names) -> str:
    return _("Declared a conflict of interest; the case awaits rekeying")


def _rekeyed(details: Mapping[str, Any], _names: Names) -> str:
    return _("Rekeyed after a declared conflict (items re-encrypted: %(envelopes)s; people "
             "removed: %(removed)s)", envelopes=_count(details, "envelopes"),
             removed=_count(details, "removed"))


def _replied(_details: Mapping[str, Any], _names: Names) -> str:
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


# The modules of Casework III describe their own actions (a ``TIMELINE`` mapping each):
# read when first needed, since they import the case page's modules.
MORE_DESCRIBERS = ("casework.identity_forms", "casework.oral_forms",
                   "casework.deadline_forms", "casework.retention_forms")


def describers() -> dict[str, Describe]:
    """Every action the timeline shows, with the function that words it."""
    merged = dict(DESCRIBE)
    for name in MORE_DESCRIBERS:
        merged.update(getattr(importlib.import_module(name), "TIMELINE", {}))
    return merged


def describe(action: str, details: Mapping[str, Any], names: Names) -> str:
    """The plain-language line for one entry; a generic line when it cannot be read."""
    describer = describers().get(action)
    if describer is not None:
        try:
            return describer(details, names)
        except Malformed:
            pass
    return _("An action was recorded whose details cannot be shown")
