"""A property test over random sequences of the workflow's actions by random people.

Every action of issue 10 (triage, stage changes, assignment, transfer, bulk handover,
escalation, referral, links and merging, declaring a conflict, rekeying, replies, notes) is
taken by someone drawn from the linked staff (readers of etik and akt, both units' leads,
a KOF reviewer, an etik reviewer intake does not seal to, a custodian, an administrator,
a statistician, an auditor) with their own
private key, through the real domain functions, each in a unit of work of its own as the
app runs them, on two real cases sent through intake (each leaves a person out). A model
(``workflow_model``) says, from the rules, whether each action must be refused or
allowed. After every step (``workflow_world.check_case``):

- a refused action changed nothing (every row of the workflow's tables, every envelope
  header and generation, the store's files, the audit log's length);
- an allowed action wrote at least one audit entry by its actor, and the chain verifies;
- the stage is reachable, replayed by its StageChange rows; ``concluded`` iff an outcome;
- exactly the model's readers pass the access check: a declarer never does, and once
  the case is rekeyed their key opens no envelope of it; every reader opens the report;
- no one the tipster left out is ever in a header, an assignee or a reader;
- the roles that read no content are refused every action.

Hypothesis draws new sequences on every run (no example database: tests/conftest.py);
a failure prints the sequence, shrunk, as the lines it noted. A few sequences chance
would seldom draw (a declarer assigned back, a merge after escalations both ways, the
tipster's exclusions through every path) run as scripts through the same machine.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from casework.assignment import assign, transfer, unassign
from casework.cases import MAX_TEXT, add_note, reply
from casework.conflicts import declare_conflict, rekey_case
from casework.errors import CaseworkError
from casework.escalation import REASONS as ESCALATION_REASONS
from casework.escalation import escalate, refer
from casework.handover import hand_over
from casework.models import AuditEntry, Priority, ReasonCode, User
from casework.reasons import MAX_REASON
from casework.triage import TriageChoice, link, merge, triage, unlink
from casework.workflow import GRAPH, change_stage
from common.contract import Category, Stage

from . import workflow_model as model
from .conftest import Staff, services
from .linked import Linked
from .workflow_model import OUTCOMES, Expect, Person
from .workflow_scripts import SCRIPTS
from .workflow_world import (
    NAMES,
    World,
    audit_length,
    audit_verifies,
    build_world,
    check_cases,
    differences,
    snapshot,
)

# The auditor, the administrator, the custodian, the statistician: they read no content.
NO_CONTENT = ("ada", "admin", "cecilia", "stina")
# Whom an action names: someone assigned the case, a reader of its unit, someone who
# declared a conflict on it, the person the tipster left out, or anyone (including an id
# that names no one).
PEOPLE = st.tuples(st.sampled_from(("assigned", "unit", "declared", "declared", "excluded",
                                    "anyone")), st.integers(0, 11))
# Who gives a case in a transfer or a handover: mostly someone assigned it.
GIVER = st.tuples(st.sampled_from(("assigned", "assigned", "assigned", "unit", "anyone")),
                  st.integers(0, 11))
WHICH = st.sampled_from((0, 1))
# Who acts: a lead of the case's unit who reads it, a reader, or anyone at all (drawn
# from the model's readers, else few actions would be allowed at all).
ACTOR = st.tuples(st.sampled_from(("lead", "reader", "anyone")), st.integers(0, 11))
# For the actions only a lead may take: a lead more often; for links, someone who reads
# both cases (there is one only once a case was escalated to the other's unit).
LEAD = st.tuples(st.sampled_from(("lead", "lead", "lead", "reader", "anyone")),
                 st.integers(0, 11))
BOTH = st.tuples(st.sampled_from(("both", "both", "lead", "reader", "anyone")),
                 st.integers(0, 11))
REASON_TEXT = st.sampled_from(("", "because <b>of</b> it", "y" * (MAX_REASON + 1)))
# (what is sent, what a reply keeps of it once its markup is stripped)
WRITTEN = st.sampled_from((("It was 2025.", "It was 2025."), ("   ", ""),
                           ("<b></b>", ""), ("z" * (MAX_TEXT + 1), "z" * (MAX_TEXT + 1))))

# Derandomised: the suite must give the same answer on every run (a red run does not
# land). Longer random runs (the same machine, derandomize=False, more examples) are how
# new sequences are explored; about 10,000 steps of them found nothing.
SETTINGS = settings(max_examples=15, stateful_step_count=15, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.filter_too_much])

Action = Callable[..., Any]
# (method name, its arguments' strategies, weight): the actions a step draws from.
ACTIONS: list[tuple[str, dict[str, st.SearchStrategy[Any]], int]] = []


def action(weight: int = 1, **arguments: st.SearchStrategy[Any]) -> Callable[[Action],
                                                                              Action]:
    """Register a method of the machine as an action with these arguments."""
    def register(method: Action) -> Action:
        ACTIONS.append((method.__name__, arguments, weight))
        return method
    return register


class WorkflowMachine(RuleBasedStateMachine):
    """Random actions on two fresh cases per example; the world is set by the test."""

    world: ClassVar[World]
    # (action, "allowed" or "refused") -> how many times, over all examples.
    tally: ClassVar[Counter[tuple[str, str]]]

    @initialize()
    def two_cases(self) -> None:
        self.cases = self.world.new_cases()
        self.links: set[tuple[str, str, str]] = set()  # CaseLink rows, as the model has them
        self.journal: list[str] = []

    # --- running one action ------------------------------------------------------------

    def say(self, line: str) -> None:
        """A line of the failing sequence Hypothesis prints (or a scripted test keeps)."""
        if currently_in_test_context():
            note(line)
        self.journal.append(line)

    def named(self, which: int, pick: tuple[str, int]) -> str:
        case = self.cases[which]
        names = {"assigned": sorted(case.assigned), "declared": sorted(case.conflicts),
                 "excluded": sorted(case.excluded), "is": [[*NAMES, "forged"][pick[1]]],
                 "unit": [n for n, p in sorted(self.world.staff.items())
                          if case.unit in p.reads]}.get(pick[0]) or [*NAMES, "forged"]
        return names[pick[1] % len(names)]

    def person(self, name: str) -> Person | None:
        return self.world.staff.get(name)

    def actor(self, which: int, pick: tuple[str, int]) -> Person:
        case = self.cases[which]
        readers = sorted(case.readers)
        leads = [n for n in readers if case.unit in self.world.staff[n].leads]
        both = sorted(case.readers & self.cases[1 - which].readers)
        if pick[0] == "is":
            return self.world.staff[NAMES[pick[1]]]
        names = (leads if pick[0] == "lead" else []) or \
            (both if pick[0] == "both" else []) or \
            (readers if pick[0] != "anyone" else []) or list(NAMES)
        return self.world.staff[names[pick[1] % len(names)]]

    def act(self, what: str, actor: Person, expect: Expect, action: Action, *args: Any,
            casework: bool = True, logs: bool = True, **kwargs: Any) -> bool:
        """Run ``action`` as ``actor`` in a unit of work of its own; True if allowed.

        ``logs``: an allowed action must add an audit entry (False for the two that may
        change nothing: a triage that sets what is set, a rekey with nothing pending).
        """
        world, app = self.world, self.world.app
        if actor.name in NO_CONTENT:
            expect = Expect.REFUSE  # whatever the model says: the rule of the roles
        self.say(f"{what} by {actor.name} (expected: {expect.value})")
        before = snapshot(app)
        try:
            with app.app_context(), services(app).unit() as unit:
                user = unit.session.get(User, world.ids[actor.name])
                head = (services(app), unit.session) if casework else (unit.session,)
                self.result = action(*head, user, world.key(actor.name), *args, **kwargs)
        except CaseworkError as refused:
            if expect is Expect.ALLOW:
                with app.app_context():  # the explanation is translated when shown
                    raise AssertionError(f"{what} by {actor.name} was refused: "
                                         f"{type(refused).__name__}: {refused.explanation}"
                                         ) from refused
            assert 400 <= refused.status < 500
            after = snapshot(app)
            assert after == before, f"a refused {what} changed {differences(before, after)}"
            self.say(f"  refused: {type(refused).__name__}")
            self.tally[(action.__name__, "refused")] += 1
            return False
        assert expect is not Expect.REFUSE, f"{what} by {actor.name} was allowed"
        after = snapshot(app)
        if logs or after != before:
            with services(app).db.session() as db:
                actors = set(db.scalars(select(AuditEntry.actor_id).where(
                    AuditEntry.seq > before["audit"][1])))
            assert world.ids[actor.name] in actors, f"{what}: no audit entry by its actor"
        audit_verifies(app)
        self.tally[(action.__name__, "allowed")] += 1
        return True

    # --- the rules ---------------------------------------------------------------------

    @action(pick=ACTOR, which=WHICH,
          category=st.sampled_from(("", "gossip", *(c.value for c in Category))),
          priority=st.sampled_from(("", "asap", *(p.value for p in Priority))),
          add=st.sampled_from(("", "follow up", "budget", "x" * 41, "<script>")),
          remove=st.sampled_from(("", "follow up", "budget", "unknown")))
    def triage(self, pick: tuple[str, int], which: int, category: str, priority: str,
               add: str, remove: str) -> None:
        case = self.cases[which]
        actor = self.actor(which, pick)
        expect = model.triage(case, actor, category, priority, add, remove)
        changes = model.apply_triage(copy.deepcopy(case), category, priority, add, remove) \
            if expect is Expect.ALLOW else ()
        choice = TriageChoice(category=category or None, priority=priority or None,
                              add_label=add, remove_label=remove)
        if self.act(f"triage({case.unit}, {choice})", actor, expect, triage, case.id, choice,
                    logs=bool(changes)):
            assert self.result == model.apply_triage(case, category, priority, add, remove)

    def _move(self, which: int, actor: Person, target: str, code: str, outcome: str | None,
              text: str) -> None:
        case = self.cases[which]
        expect = model.stage_change(case, actor, target, code, outcome, text)
        if self.act(f"change_stage({case.unit}: {case.stage} -> {target}, {code}, {outcome})",
                    actor, expect, change_stage, case.id, target, code, text, outcome):
            model.apply_stage_change(case, target, outcome)

    @action(pick=ACTOR, which=WHICH, to=st.sampled_from((*(s.value for s in Stage), "limbo")),
          code=st.sampled_from([r.value for r in ReasonCode]), outcome=st.sampled_from(OUTCOMES),
          text=REASON_TEXT)
    def change_stage(self, pick: tuple[str, int], which: int, to: str, code: str,
                     outcome: str | None, text: str) -> None:
        self._move(which, self.actor(which, pick), to, code, outcome, text)

    @action(weight=3, pick=ACTOR, which=WHICH, choice=st.integers(0, 11))
    def advance(self, pick: tuple[str, int], which: int, choice: int) -> None:
        """A move the graph has from the current stage, with a reason (and outcome) that
        go with it: allowed or not by the actor's role alone."""
        moves = [t for t in GRAPH if t.source.value == self.cases[which].stage]
        move = moves[choice % len(moves)]
        outcome = move.outcomes[choice % len(move.outcomes)].value if move.outcomes else None
        self._move(which, self.actor(which, pick), move.target.value,
                   move.reasons[choice % len(move.reasons)].value, outcome, "why")

    @action(weight=2, pick=LEAD, which=WHICH, whom=PEOPLE)
    def assign(self, pick: tuple[str, int], which: int, whom: tuple[str, int]) -> None:
        person = self.named(which, whom)
        case, actor, given = self.cases[which], self.actor(which, pick), self.person(person)
        if self.act(f"assign({case.unit}, {person})", actor, model.assign(case, actor, given),
                    assign, case.id, self.world.ids.get(person, "0" * 32)):
            assert given is not None
            model.apply_assign(case, given)

    @action(pick=LEAD, which=WHICH, whom=PEOPLE)
    def unassign(self, pick: tuple[str, int], which: int, whom: tuple[str, int]) -> None:
        person = self.named(which, whom)
        case, actor, taken = self.cases[which], self.actor(which, pick), self.person(person)
        if self.act(f"unassign({case.unit}, {person})", actor,
                    model.unassign(case, actor, taken), unassign, case.id,
                    self.world.ids.get(person, "0" * 32)):
            assert taken is not None
            model.apply_unassign(case, taken)

    @action(weight=2, pick=LEAD, which=WHICH, gives=GIVER, takes=PEOPLE)
    def transfer(self, pick: tuple[str, int], which: int, gives: tuple[str, int],
                 takes: tuple[str, int]) -> None:
        giver, receiver = self.named(which, gives), self.named(which, takes)
        case, actor = self.cases[which], self.actor(which, pick)
        old, new = self.person(giver), self.person(receiver)
        if self.act(f"transfer({case.unit}, {giver} -> {receiver})", actor,
                    model.transfer(case, actor, old, new), transfer, case.id,
                    self.world.ids.get(giver, "0" * 32), self.world.ids.get(receiver, "")):
            assert old is not None and new is not None
            model.apply_unassign(case, old)
            model.apply_assign(case, new)

    @action(pick=LEAD, which=WHICH, gives=GIVER, takes=PEOPLE)
    def hand_over(self, pick: tuple[str, int], which: int, gives: tuple[str, int],
                  takes: tuple[str, int]) -> None:
        """A bulk handover of all of the giver's cases in the units the actor leads."""
        giver, receiver = self.named(which, gives), self.named(which, takes)
        lead, old, new = self.actor(which, pick), self.person(giver), self.person(receiver)
        refused = not lead.leads or not lead.has_key or old is None or new is None \
            or giver == receiver
        if not self.act(f"hand_over({giver} -> {receiver})", lead,
                        Expect.REFUSE if refused else Expect.ALLOW, hand_over,
                        self.world.ids.get(giver, ""), self.world.ids.get(receiver, "")):
            return
        assert old is not None and new is not None
        for case in self.cases:
            # Moved as a transfer would move it; a case the lead cannot open, or the
            # receiver may not be given, stays with its assignee.
            if old.name in case.assigned and case.lead(lead) and case.may_be_given(new):
                model.apply_unassign(case, old)
                model.apply_assign(case, new)

    @action(weight=2, pick=LEAD, which=WHICH,
            unit=st.sampled_from(("etik", "akt", "kof", "mars")),
            code=st.sampled_from((*(r.value for r in ESCALATION_REASONS), "duplicate")),
          text=REASON_TEXT)
    def escalate(self, pick: tuple[str, int], which: int, unit: str, code: str,
                 text: str) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        expect = model.escalate(case, actor, self.world.staff, self.world.units, unit, code,
                                text)
        if self.act(f"escalate({case.unit} -> {unit}, {code})", actor, expect, escalate,
                    case.id, unit, code, text):
            model.apply_escalate(case, self.world.staff, unit)

    @action(pick=LEAD, which=WHICH, authority=st.sampled_from(("jo", "polisen", "fbi")),
          code=st.sampled_from((*(r.value for r in ESCALATION_REASONS), "duplicate")),
          text=REASON_TEXT)
    def refer(self, pick: tuple[str, int], which: int, authority: str, code: str,
              text: str) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        expect = model.refer(case, actor, self.world.authorities, authority, code, text)
        if self.act(f"refer({case.unit} -> {authority}, {code})", actor, expect, refer,
                    case.id, authority, code, text):
            case.referred.add(authority)

    @action(weight=2, pick=ACTOR, which=WHICH, text=REASON_TEXT)
    def declare_conflict(self, pick: tuple[str, int], which: int, text: str) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        if self.act(f"declare_conflict({case.unit})", actor, model.declare(case, actor, text),
                    declare_conflict, case.id, text):
            model.apply_declare(case, actor)

    @action(pick=ACTOR, which=WHICH)
    def rekey(self, pick: tuple[str, int], which: int) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        # A reader may be unable to open an item that needs rekeying (409): either way.
        expect = Expect.REFUSE if not case.reader(actor) else \
            Expect.EITHER if case.pending else Expect.ALLOW
        if self.act(f"rekey_case({case.unit}, pending {sorted(case.pending)})", actor, expect,
                    rekey_case, case.id, logs=bool(case.pending)):
            assert (self.result is None) == (not case.pending)
            case.pending.clear()

    @action(pick=ACTOR, which=WHICH, text=WRITTEN, feedback=st.booleans())
    def reply(self, pick: tuple[str, int], which: int, text: tuple[str, str],
              feedback: bool) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        if self.act(f"reply({case.unit}, {text[0][:20]!r}, feedback={feedback})", actor,
                    model.written(case, actor, text[1], MAX_TEXT), reply, case.id, text[0],
                    feedback=feedback):
            case.feedback = case.feedback or feedback

    @action(pick=ACTOR, which=WHICH, text=WRITTEN)
    def add_note(self, pick: tuple[str, int], which: int, text: tuple[str, str]) -> None:
        case, actor = self.cases[which], self.actor(which, pick)
        self.act(f"add_note({case.unit}, {text[0][:20]!r})", actor,
                 model.written(case, actor, text[0], MAX_TEXT), add_note, case.id, text[0])

    def _pairs(self) -> set[frozenset[str]]:
        return {frozenset((a, b)) for a, b, _kind in self.links}

    @action(pick=BOTH, which=WHICH, kind=st.sampled_from(("related", "duplicate", "twin")))
    def link(self, pick: tuple[str, int], which: int, kind: str) -> None:
        case, other = self.cases[which], self.cases[1 - which]
        actor = self.actor(which, pick)
        if self.act(f"link({case.unit} {kind} of {other.unit})", actor,
                    model.link(case, other, actor, kind, self._pairs()), link, case.id,
                    other.id, kind, casework=False):
            self.links |= {(case.id, other.id, kind), (other.id, case.id, "related")}

    @action(pick=BOTH, which=WHICH)
    def unlink(self, pick: tuple[str, int], which: int) -> None:
        case, other = self.cases[which], self.cases[1 - which]
        actor = self.actor(which, pick)
        if self.act(f"unlink({case.unit}, {other.unit})", actor,
                    model.unlink(case, other, actor, self._pairs()), unlink, case.id,
                    other.id, casework=False):
            self.links = {row for row in self.links if {row[0], row[1]} != {case.id, other.id}}

    @action(pick=BOTH, which=WHICH)
    def merge(self, pick: tuple[str, int], which: int) -> None:
        case, other = self.cases[which], self.cases[1 - which]
        actor = self.actor(which, pick)
        duplicates = {(a, b) for a, b, kind in self.links if kind == "duplicate"}
        if self.act(f"merge({case.unit} into {other.unit})", actor,
                    model.merge(case, other, actor, duplicates), merge, case.id,
                    casework=False):
            case.merged_into = other.id

    # One rule draws one of the actions above (a rule each would let Hypothesis switch
    # most of them off in an example, and a short run would hardly ever allow any).
    # The stage walk first: Hypothesis's first example draws the first action throughout.
    @rule(step=st.one_of([st.tuples(st.just(name), st.fixed_dictionaries(arguments))
                          for name, arguments, weight in sorted(
                              ACTIONS, key=lambda a: a[0] != "advance")
                          for _ in range(weight)]))
    def step(self, step: tuple[str, dict[str, Any]]) -> None:
        name, arguments = step
        getattr(self, name)(**arguments)

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def everything_holds(self) -> None:
        check_cases(self.world, self.cases, self.links)


def test_random_sequences_of_actions_keep_every_invariant(
        linked: Linked, enrol: Callable[..., Staff]) -> None:
    world = build_world(linked, enrol)
    assert set(world.staff) == set(NAMES)
    tally: Counter[tuple[str, str]] = Counter()
    machine = type("Machine", (WorkflowMachine,), {"world": world, "tally": tally})
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=SETTINGS)
    print(f"workflow property test: {time.monotonic() - started:.1f} s, "
          f"{sorted(tally.items())}")
    assert audit_length(world.app) > 0


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_scripted_sequences_keep_every_invariant(linked: Linked, enrol: Callable[..., Staff],
                                                 script: str) -> None:
    """The machine's own steps and checks, in an order chance would seldom draw."""
    world = build_world(linked, enrol)
    tally: Counter[tuple[str, str]] = Counter()
    machine = type("Machine", (WorkflowMachine,), {"world": world, "tally": tally})()
    machine.two_cases()
    machine.everything_holds()
    for name, arguments in SCRIPTS[script]:
        getattr(machine, name)(**arguments)
        machine.everything_holds()
    print("\n".join(machine.journal))  # shown by pytest when the test fails
    assert {outcome for _action, outcome in tally} == {"allowed", "refused"}
