"""Triage: a reader sorts a case (category, agency, priority, labels) and links it to
others (related, duplicate), and a unit lead merges a duplicate into its primary case.

Every field stored here is a code or staff's own words, never content:

- category, agency and priority are codes of fixed lists (``common.contract.Category``,
  ``common.vocabulary.AGENCIES``, :class:`~casework.models.Priority`);
- an agency not on the list is the code ``other`` in the row; the name a reader types
  for it is content (it can point at a person's workplace) and is sealed to the case's
  readers as a ``reason`` envelope whose document says it is the agency (``about``);
- labels are short words staff choose to sort cases by (letters, digits, spaces and
  dashes, at most 40 characters, 20 per case). They are stored in plaintext, so the form
  says so: a label is never a place for what the report says.

Linking needs read access to both cases; a case the person cannot read is refused exactly
as one that does not exist. Merging does NOT conclude the duplicate: each case keeps its
own tipster, dialogue, envelopes and legal deadlines (both tipsters are owed feedback);
the primary's page shows the duplicate's dialogue to those who may read it, and the
duplicate's lead concludes it with the reason ``duplicate`` when the time comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

import crypto
from common.contract import Category, EnvelopeKind
from common.unit_of_work import emit_on
from common.vocabulary import AGENCIES, OTHER_AGENCY

from .case_view import CaseView, ensure_reader_tag, open_case, readable_case, refusal
from .errors import CaseworkError, NotPermitted
from .events import CaseMerged, CasesLinked, CasesUnlinked, CaseTriaged
from .models import Case, CaseLabel, CaseLink, LinkKind, Priority, Role, User
from .readers import reader_keys, report_content_key
from .reasons import reason_document
from .sealing import seal_item
from .services import Casework
from .workflow import WrongState

MAX_LABELS = 20
MAX_LABEL = 40
MAX_AGENCY_NAME = 200
LABEL_PUNCTUATION = frozenset(" -")


def clean_label(text: str) -> str:
    """A label as stored (spaces collapsed), or a 400 refusal naming the rule."""
    label = " ".join(text.split())
    # [0-9], not isdigit(): other scripts' digits look alike and sort apart.
    if not 1 <= len(label) <= MAX_LABEL or not all(
            c.isalpha() or c in "0123456789" or c in LABEL_PUNCTUATION for c in label):
        raise refusal(_l("a label has 1 to %(max)s letters, digits, spaces or dashes",
                         max=MAX_LABEL))
    return label


@dataclass(frozen=True)
class TriageChoice:
    """What a reader asked to change; empty or None leaves a field as it is."""

    category: str | None = None
    agency: str | None = None
    agency_name: str = ""
    priority: str | None = None
    add_label: str = ""
    remove_label: str = ""


def _parse(choice: TriageChoice) -> dict[str, str]:
    """The checked values by field (all refused before anything is changed)."""
    wanted: dict[str, str] = {}
    if choice.category:
        if choice.category not in {c.value for c in Category}:
            raise refusal(_l("choose a category from the list"))
        wanted["category"] = choice.category
    if choice.agency:
        if choice.agency not in AGENCIES:
            raise refusal(_l("choose an agency from the list"))
        wanted["agency"] = choice.agency
    name = " ".join(choice.agency_name.split())
    if name:
        if choice.agency != OTHER_AGENCY:
            raise refusal(_l("a typed agency name goes with the agency \"other\""))
        if len(name) > MAX_AGENCY_NAME:
            raise refusal(_l("an agency name has at most %(max)s characters",
                             max=MAX_AGENCY_NAME))
        wanted["agency_name"] = name
    if choice.priority:
        if choice.priority not in {p.value for p in Priority}:
            raise refusal(_l("choose a priority from the list"))
        wanted["priority"] = choice.priority
    if choice.add_label.strip():
        wanted["add_label"] = clean_label(choice.add_label)
    if choice.remove_label.strip():
        wanted["remove_label"] = " ".join(choice.remove_label.split())
    return wanted


def triage(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
           case_id: str, choice: TriageChoice) -> tuple[str, ...]:
    """Set a case's triage fields; return the names of those that changed.

    Any reader of the case may. Nothing is changed unless every field is valid.
    """
    case = readable_case(session, user, key, case_id)
    wanted = _parse(choice)
    labels = set(session.scalars(select(CaseLabel.label).where(CaseLabel.case_id == case.id)))
    if "remove_label" in wanted and wanted["remove_label"] not in labels:
        raise refusal(_l("the case has no such label"))
    adding = wanted.get("add_label")
    if adding is not None and adding not in labels and len(labels) >= MAX_LABELS:
        raise refusal(_l("a case has at most %(max)s labels", max=MAX_LABELS))
    changed: list[str] = []
    for name in ("category", "agency", "priority"):
        if name in wanted and getattr(case, name) != wanted[name]:
            setattr(case, name, wanted[name])
            changed.append(name)
    if "agency_name" in wanted:
        # Content: sealed to the verified readers, never a column (see the module).
        content_key = report_content_key(case, key)
        ensure_reader_tag(casework, session, case, content_key)
        seal_item(casework, session, case, kind=EnvelopeKind.REASON,
                  document={"about": "agency", "text": wanted["agency_name"]},
                  recipients=reader_keys(session, casework.config, case, content_key),
                  author_id=user.id, for_tipster=False)
        if "agency" not in changed:
            changed.append("agency")
    if adding is not None and adding not in labels:
        session.add(CaseLabel(case_id=case.id, label=adding))
        changed.append("labels")
    if "remove_label" in wanted:
        session.execute(delete(CaseLabel).where(CaseLabel.case_id == case.id,
                                                CaseLabel.label == wanted["remove_label"]))
        if "labels" not in changed:
            changed.append("labels")
    if changed:
        emit_on(session, CaseTriaged(case.id, user.id, tuple(changed)))
    return tuple(changed)


# --- links and merging --------------------------------------------------------------


def _other_case(session: Session, user: User, key: crypto.PrivateKey | None,
                reference: str) -> Case:
    """The case a reader names by reference (or id), if they may read it; else the same
    refusal as for a case that does not exist."""
    wanted = reference.strip()
    found = session.scalar(select(Case.id).where(
        or_(Case.reference == wanted.upper(), Case.id == wanted.lower())))
    if found is None:
        raise NotPermitted()
    return readable_case(session, user, key, found)


def _links_between(session: Session, one: str, other: str) -> list[CaseLink]:
    return list(session.scalars(select(CaseLink).where(or_(
        (CaseLink.case_id == one) & (CaseLink.linked_case_id == other),
        (CaseLink.case_id == other) & (CaseLink.linked_case_id == one)))))


def link(session: Session, user: User, key: crypto.PrivateKey | None, case_id: str,
         other: str, kind: str) -> str:
    """Link two cases; return the other case's id.

    ``related`` is stored in both directions; ``duplicate`` says ``case_id`` duplicates
    ``other`` (the primary), with a ``related`` row back so that the primary lists it.
    """
    case = readable_case(session, user, key, case_id)
    try:
        link_kind = LinkKind(kind)
    except ValueError as exc:
        raise refusal(_l("choose a kind of link from the list")) from exc
    target = _other_case(session, user, key, other)
    if target.id == case.id:
        raise refusal(_l("a case cannot be linked to itself"))
    if _links_between(session, case.id, target.id):
        raise WrongState(_l("the cases are linked already (remove the link first)"))
    session.add(CaseLink(case_id=case.id, linked_case_id=target.id, kind=link_kind.value,
                         created_by=user.id))
    session.add(CaseLink(case_id=target.id, linked_case_id=case.id,
                         kind=LinkKind.RELATED.value, created_by=user.id))
    emit_on(session, CasesLinked(case.id, target.id, link_kind.value, user.id))
    return target.id


def unlink(session: Session, user: User, key: crypto.PrivateKey | None, case_id: str,
           other_case_id: str) -> None:
    """Remove the link between two cases (both directions). A merge is not undone."""
    case = readable_case(session, user, key, case_id)
    target = readable_case(session, user, key, other_case_id)
    rows = _links_between(session, case.id, target.id)
    if not rows:
        raise refusal(_l("the cases are not linked"))
    if case.merged_into_id == target.id or target.merged_into_id == case.id:
        raise WrongState(_l("a merged case stays linked to its primary case"))
    for row in rows:
        session.delete(row)
    emit_on(session, CasesUnlinked(case.id, target.id, user.id))


def merge(session: Session, user: User, key: crypto.PrivateKey | None,
          case_id: str) -> str:
    """Merge the duplicate ``case_id`` into the case it is linked as a duplicate of.

    For a unit lead of the duplicate's unit who reads both. Both cases keep all their
    envelopes; only ``merged_into_id`` is set (see the module on why the duplicate is not
    concluded). Returns the primary's id.
    """
    case = readable_case(session, user, key, case_id)
    if case.unit_id not in user.units_with(Role.UNIT_LEAD):
        raise NotPermitted()
    primary_id = session.scalar(select(CaseLink.linked_case_id).where(
        CaseLink.case_id == case.id, CaseLink.kind == LinkKind.DUPLICATE.value))
    if primary_id is None:
        raise refusal(_l("link the case as a duplicate of its primary case first"))
    primary = readable_case(session, user, key, primary_id)
    if case.merged_into_id is not None:
        raise WrongState(_l("the case is merged already"))
    if primary.merged_into_id is not None:
        raise WrongState(_l("the primary case is itself merged: merge into its primary"))
    if session.scalar(select(func.count()).select_from(Case).where(
            Case.merged_into_id == case.id)):
        raise WrongState(_l("other cases are merged into this one"))
    case.merged_into_id = primary.id
    emit_on(session, CaseMerged(case.id, primary.id, user.id))
    return primary.id


# --- the case page's section ----------------------------------------------------------


@dataclass
class LinkedCase:
    """A case linked to the one shown (listed only if the viewer may read it)."""

    id: str
    reference: str
    kind: str  # this case's side of the link: "duplicate" means it duplicates that case
    primary: bool  # that case duplicates this one
    merged: bool  # that case is merged into this one


@dataclass
class TriageSection:
    """What the triage section shows and offers."""

    category: str
    agency: str | None
    agency_name: str | None  # a reader's typed name for "other", from its sealed envelope
    priority: str
    labels: list[str]
    links: list[LinkedCase]
    merged_into: LinkedCase | None
    merged_dialogue: list[dict[str, Any]] = field(default_factory=list)
    merged_unreadable: int = 0
    may_merge: bool = False
    # What the form offers (the codes; the template shows their labels).
    categories: tuple[str, ...] = tuple(c.value for c in Category)
    agencies: tuple[str, ...] = tuple(AGENCIES)
    priorities: tuple[str, ...] = tuple(p.value for p in Priority)
    link_kinds: tuple[str, ...] = tuple(k.value for k in LinkKind)


def typed_agency(casework: Casework, case: Case, key: crypto.PrivateKey | None) -> str | None:
    """The newest agency name a reader typed for "other" (decrypted), if any."""
    if case.agency != OTHER_AGENCY:
        return None
    for envelope in sorted((e for e in case.envelopes if e.kind == EnvelopeKind.REASON),
                           key=lambda e: e.created_at, reverse=True):
        document = reason_document(casework, envelope, key)
        if document is not None and document.get("about") == "agency" \
                and isinstance(document.get("text"), str):
            return str(document["text"])
    return None


def _readable(session: Session, user: User, key: crypto.PrivateKey | None,
              case_id: str) -> Case | None:
    try:
        return readable_case(session, user, key, case_id)
    except NotPermitted:
        return None


def triage_section(casework: Casework, session: Session, user: User,
                   key: crypto.PrivateKey | None, view: CaseView) -> TriageSection:
    """The case page's section builder (``casework.case_sections``)."""
    case = view.case
    links: list[LinkedCase] = []
    merged_into = None
    for row in session.scalars(select(CaseLink).where(CaseLink.case_id == case.id)
                               .order_by(CaseLink.created_at)):
        other = _readable(session, user, key, row.linked_case_id)
        if other is None:
            continue  # a case the viewer may not read is not even named
        back = session.get(CaseLink, (other.id, case.id))
        entry = LinkedCase(other.id, other.reference, row.kind,
                           back is not None and back.kind == LinkKind.DUPLICATE.value,
                           other.merged_into_id == case.id)
        links.append(entry)
        if case.merged_into_id == other.id:
            merged_into = entry
    section = TriageSection(
        case.category, case.agency, typed_agency(casework, case, key), case.priority,
        sorted(session.scalars(select(CaseLabel.label).where(CaseLabel.case_id == case.id))),
        links, merged_into,
        may_merge=(case.merged_into_id is None
                   and case.unit_id in user.units_with(Role.UNIT_LEAD)
                   and any(entry.kind == LinkKind.DUPLICATE.value for entry in links)))
    for entry in links:
        if entry.merged:
            _add_merged(casework, session, user, key, entry, section)
    section.merged_dialogue.sort(key=lambda item: str(item.get("sent_at", "")))
    return section


def _add_merged(casework: Casework, session: Session, user: User,
                key: crypto.PrivateKey | None, entry: LinkedCase,
                section: TriageSection) -> None:
    """The dialogue of a case merged into this one (opening it is reading it)."""
    try:
        merged = open_case(casework, session, user, key, entry.id)
    except NotPermitted:
        return
    except (CaseworkError, crypto.CryptoError):
        section.merged_unreadable += 1  # damaged or too large: the page still renders
        return
    section.merged_unreadable += merged.unreadable
    section.merged_dialogue.extend({**item, "reference": entry.reference}
                                   for item in merged.dialogue)
