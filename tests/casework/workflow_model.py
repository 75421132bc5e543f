"""A model of what the workflow allows, for the property test
(``test_workflow_properties.py``): who reads each case, and whether an action must be
refused, must be allowed, or may go either way.

The model is written from the rules of issue 10 and docs/workflow.md, not from the domain
code: readers are the people intake sealed the report to (minus those the tipster left
out), plus those a lead assigned or an escalation added, minus those who declared a
conflict. The domain's answer is checked against it after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from casework.escalation import REASONS as ESCALATION_REASONS
from casework.models import Priority, Stage
from casework.reasons import MAX_REASON
from casework.workflow import GRAPH, Who
from common.contract import Category, Outcome


class Expect(Enum):
    """What the model says the domain must do with an action."""

    REFUSE = "refuse"
    ALLOW = "allow"
    EITHER = "either"  # allowed, or refused for a reason the model does not track


@dataclass(frozen=True)
class Person:
    """A member of staff as the model sees them: where they read and where they lead."""

    name: str
    reads: frozenset[str]  # units where they are a reviewer or a unit lead
    leads: frozenset[str]  # units where they are a unit lead
    has_key: bool


@dataclass
class CaseModel:
    """One case, as the model expects it to be."""

    id: str
    unit: str
    excluded: frozenset[str]  # names the tipster left out
    original: frozenset[str]  # names intake sealed the report to
    stage: str
    readers: set[str] = field(default_factory=set)
    assigned: set[str] = field(default_factory=set)
    escalated: set[str] = field(default_factory=set)  # units
    referred: set[str] = field(default_factory=set)  # authority codes
    conflicts: set[str] = field(default_factory=set)  # declarers
    pending: set[str] = field(default_factory=set)  # declarers not yet rekeyed out
    labels: set[str] = field(default_factory=set)
    category: str = ""
    priority: str = Priority.NORMAL.value
    outcome: str | None = None
    merged_into: str | None = None
    feedback: bool = False  # a reply was marked as the legal feedback

    def reader(self, person: Person) -> bool:
        return person.has_key and person.name in self.readers

    def lead(self, person: Person) -> bool:
        """A lead of the case's own unit who reads it (the lead-only actions)."""
        return self.reader(person) and self.unit in person.leads

    def may_be_given(self, person: Person | None, unit: str | None = None) -> bool:
        """May ``person`` become a reader of this case as a reader of ``unit``?"""
        return (person is not None and person.has_key and (unit or self.unit) in person.reads
                and person.name not in self.excluded and person.name not in self.conflicts)

    def reads_otherwise(self, person: Person) -> bool:
        """True if ``person`` reads the case for a reason other than an assignment."""
        return person.name in self.original or bool(person.reads & self.escalated)


# --- the actions' rules -----------------------------------------------------------------


def stage_change(case: CaseModel, actor: Person, target: str, code: str,
                 outcome: str | None, text: str) -> Expect:
    if not case.reader(actor):
        return Expect.REFUSE
    move = next((t for t in GRAPH if (t.source.value, t.target.value) == (case.stage, target)),
                None)
    if move is None or (move.who == Who.LEAD and case.unit not in actor.leads):
        return Expect.REFUSE
    if code not in move.reasons or len(text.strip()) > MAX_REASON:
        return Expect.REFUSE
    if bool(move.outcomes) != (outcome is not None):
        return Expect.REFUSE
    if outcome is not None and outcome not in move.outcomes:
        return Expect.REFUSE
    return Expect.ALLOW


def apply_stage_change(case: CaseModel, target: str, outcome: str | None) -> None:
    case.stage = target
    case.outcome = outcome if target == Stage.CONCLUDED.value else None


def valid_label(text: str) -> bool:
    label = " ".join(text.split())
    return 1 <= len(label) <= 40 and all(c.isalpha() or c in "0123456789 -" for c in label)


def triage(case: CaseModel, actor: Person, category: str, priority: str, add: str,
           remove: str) -> Expect:
    if not case.reader(actor):
        return Expect.REFUSE
    if category and category not in {c.value for c in Category}:
        return Expect.REFUSE
    if priority and priority not in {p.value for p in Priority}:
        return Expect.REFUSE
    if add.strip() and not valid_label(add):
        return Expect.REFUSE
    if remove.strip() and " ".join(remove.split()) not in case.labels:
        return Expect.REFUSE
    return Expect.ALLOW


def apply_triage(case: CaseModel, category: str, priority: str, add: str,
                 remove: str) -> tuple[str, ...]:
    """Apply an allowed triage; return the names of the fields that change."""
    changed = []
    if category and category != case.category:
        case.category = category
        changed.append("category")
    if priority and priority != case.priority:
        case.priority = priority
        changed.append("priority")
    labels = set(case.labels)
    if add.strip():
        labels.add(" ".join(add.split()))
    if remove.strip():
        labels.discard(" ".join(remove.split()))
    if (add.strip() and " ".join(add.split()) not in case.labels) or remove.strip():
        changed.append("labels")
    case.labels = labels
    return tuple(changed)


def assign(case: CaseModel, actor: Person, person: Person | None) -> Expect:
    if not case.lead(actor) or not case.may_be_given(person):
        return Expect.REFUSE
    return Expect.ALLOW


def apply_assign(case: CaseModel, person: Person) -> None:
    case.assigned.add(person.name)
    case.readers.add(person.name)


def unassign(case: CaseModel, actor: Person, person: Person | None) -> Expect:
    if not case.lead(actor) or person is None or person.name not in case.assigned:
        return Expect.REFUSE
    return Expect.ALLOW


def apply_unassign(case: CaseModel, person: Person) -> None:
    case.assigned.discard(person.name)
    if not case.reads_otherwise(person):
        case.readers.discard(person.name)


def transfer(case: CaseModel, actor: Person, giver: Person | None,
             receiver: Person | None) -> Expect:
    if unassign(case, actor, giver) is Expect.REFUSE or not case.may_be_given(receiver):
        return Expect.REFUSE
    assert giver is not None and receiver is not None
    return Expect.REFUSE if giver.name == receiver.name else Expect.ALLOW


def receivers(case: CaseModel, staff: dict[str, Person], unit: str) -> set[str]:
    return {p.name for p in staff.values() if case.may_be_given(p, unit)}


def escalate(case: CaseModel, actor: Person, staff: dict[str, Person], units: set[str],
             unit: str, code: str, text: str) -> Expect:
    if not case.lead(actor) or code not in {r.value for r in ESCALATION_REASONS}:
        return Expect.REFUSE
    if unit not in units or unit == case.unit or unit in case.escalated:
        return Expect.REFUSE
    if not receivers(case, staff, unit) or len(text.strip()) > MAX_REASON:
        return Expect.REFUSE
    return Expect.ALLOW


def apply_escalate(case: CaseModel, staff: dict[str, Person], unit: str) -> None:
    case.readers |= receivers(case, staff, unit)
    case.escalated.add(unit)


def refer(case: CaseModel, actor: Person, authorities: set[str], authority: str, code: str,
          text: str) -> Expect:
    if not case.lead(actor) or code not in {r.value for r in ESCALATION_REASONS}:
        return Expect.REFUSE
    if authority not in authorities or authority in case.referred:
        return Expect.REFUSE
    return Expect.REFUSE if len(text.strip()) > MAX_REASON else Expect.ALLOW


def declare(case: CaseModel, actor: Person, text: str) -> Expect:
    # Escrow is always among the others a reason is sealed to, so a reason is never
    # refused for want of a reader.
    if not case.reader(actor) or len(text.strip()) > MAX_REASON:
        return Expect.REFUSE
    return Expect.ALLOW


def apply_declare(case: CaseModel, actor: Person) -> None:
    case.readers.discard(actor.name)
    case.conflicts.add(actor.name)
    case.pending.add(actor.name)


def written(case: CaseModel, actor: Person, text: str, max_text: int) -> Expect:
    """A reply or a note (``text`` as it will be once cleaned)."""
    if not case.reader(actor) or not text.strip() or len(text.strip()) > max_text:
        return Expect.REFUSE
    return Expect.ALLOW


def link(case: CaseModel, other: CaseModel, actor: Person, kind: str,
         links: set[frozenset[str]]) -> Expect:
    if not case.reader(actor) or not other.reader(actor) or kind not in ("related",
                                                                          "duplicate"):
        return Expect.REFUSE
    return Expect.REFUSE if frozenset((case.id, other.id)) in links else Expect.ALLOW


def unlink(case: CaseModel, other: CaseModel, actor: Person,
           links: set[frozenset[str]]) -> Expect:
    if not case.reader(actor) or not other.reader(actor):
        return Expect.REFUSE
    if frozenset((case.id, other.id)) not in links:
        return Expect.REFUSE
    merged = case.merged_into == other.id or other.merged_into == case.id
    return Expect.REFUSE if merged else Expect.ALLOW


def merge(case: CaseModel, other: CaseModel, actor: Person,
          duplicates: set[tuple[str, str]]) -> Expect:
    """Merge ``case`` into ``other`` (the only case it can be a duplicate of here)."""
    if not case.lead(actor) or (case.id, other.id) not in duplicates:
        return Expect.REFUSE
    if not other.reader(actor) or case.merged_into is not None:
        return Expect.REFUSE
    return Expect.REFUSE if other.merged_into is not None else Expect.ALLOW


REACHABLE = frozenset({t.target.value for t in GRAPH} | {Stage.RECEIVED.value})
OUTCOMES = [None, *(o.value for o in Outcome)]
