"""The world the workflow property test (``test_workflow_properties.py``) acts in: the
linked staff with their private keys, two real cases per example, every row and file an
action may change, and the checks that hold after every step."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from casework.case_view import readable_case
from casework.errors import NotPermitted
from casework.models import (
    Assignment,
    AuditCheckpoint,
    AuditEntry,
    Case,
    CaseEnvelope,
    CaseLabel,
    CaseLink,
    Conflict,
    Escalation,
    Role,
    StageChange,
    Unit,
    User,
)
from casework.models.cases import CaseReader
from casework.readers import READING_ROLES
from casework.workflow import GRAPH
from common.contract import Stage

from .audit_support import check
from .conflict_support import add_etik_lead
from .conftest import Staff, services
from .handling_support import report
from .linked import Linked
from .workflow_model import REACHABLE, CaseModel, Person

# Every table an action of the workflow writes, compared whole before and after a refusal.
TABLES = (Case, CaseEnvelope, StageChange, Escalation, Conflict, Assignment, CaseLabel,
          CaseLink, CaseReader)


@dataclass
class World:
    """The linked apps, the staff as the model sees them, their ids and private keys."""

    linked: Linked
    staff: dict[str, Person]
    ids: dict[str, str]
    units: set[str]
    authorities: set[str]

    @property
    def app(self) -> Flask:
        return self.linked.casework

    def key(self, name: str) -> crypto.PrivateKey | None:
        return self.linked.staff[name].key

    def new_cases(self) -> list[CaseModel]:
        """Two fresh cases through intake: an ethics report that leaves Erik out, and a
        confidential corruption report (with an identity for the custodians) that leaves
        Eva, a reader of another unit, out (an escalation to etik must not add her)."""
        made = []
        for category, excluded, extra in (
                ("ethics", ("erik",), {}),
                ("corruption", ("eva",), {"identity": "confidential", "name": "Karin Berg",
                                          "contact": "karin@example.org"})):
            case_id = report(self.linked, category=category, exclude=excluded, **extra)
            with services(self.app).db.session() as db:
                case = db.get(Case, case_id)
                assert case is not None
                unit, stage = case.unit_id, case.stage
            # Intake seals to the readers of the receiving unit the tipster did not leave
            # out; the automatic acknowledgement at import is the first stage.
            assert stage == Stage.ACKNOWLEDGED.value
            original = frozenset(p.name for p in self.staff.values()
                                 if unit in p.reads and p.has_key and p.name not in excluded
                                 and p.name not in LATE)
            made.append(CaseModel(case_id, unit, frozenset(excluded), original, stage,
                                  readers=set(original), category=category))
        return made


# Everyone the world enrols (the linked fixture's staff and build_world's).
NAMES = ("ada", "admin", "anna", "cecilia", "erik", "eva", "ines", "kim", "lars", "lena",
         "stina")
# Enrolled after intake's directory was published: intake does not seal to her, so she
# reads a case only once it is assigned to her (and not once it is taken back).
LATE = frozenset({"ines"})


def build_world(linked: Linked, enrol: Callable[..., Staff]) -> World:
    """Add a KOF reviewer (so an escalation to KOF has readers), an auditor and an etik
    lead to the linked staff, before any report is sent (intake seals to its directory),
    and an etik reviewer after it."""
    linked.staff["kim"] = enrol("kim", Role.REVIEWER, "kof")
    linked.staff["ada"] = enrol("ada", Role.AUDITOR, "kof")
    add_etik_lead(linked, enrol)  # Lars; publishes the directory with everyone to intake
    linked.staff["ines"] = enrol("ines", Role.REVIEWER, "etik")
    staff, ids = {}, {}
    with services(linked.casework).db.session() as db:
        for name, member in linked.staff.items():
            user = db.scalars(select(User).where(User.username == member.username)).one()
            staff[name] = Person(name, frozenset(user.units_with(*READING_ROLES)),
                                 frozenset(user.units_with(Role.UNIT_LEAD)),
                                 member.key is not None)
            ids[name] = user.id
        units = set(db.scalars(select(Unit.id)))
    authorities = {a.code for a in services(linked.casework).config.referral_authorities}
    return World(linked, staff, ids, units, authorities)


# --- everything an action may change --------------------------------------------------


def snapshot(app: Flask) -> dict[str, Any]:
    """Every row of every table the workflow writes, the store's files (and what waits in
    incoming/), and the audit log's length."""
    casework = services(app)
    shot: dict[str, Any] = {}
    with casework.db.session() as db:
        for model in TABLES:
            table = model.__table__
            shot[model.__tablename__] = sorted(tuple(row) for row in db.execute(select(table)))
        shot["audit"] = (db.scalar(select(func.count()).select_from(AuditEntry)),
                         db.scalar(select(func.max(AuditEntry.seq))) or 0,
                         db.scalar(select(func.count()).select_from(AuditCheckpoint)))
    store = casework.store
    shot["files"] = sorted(p.name for p in store.root.iterdir() if p.is_file())
    shot["incoming"] = sorted(p.name for p in store.incoming_dir.iterdir())
    return shot


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which parts of two snapshots differ (for a readable failure)."""
    return [name for name in before if before[name] != after[name]]


def audit_length(app: Flask) -> int:
    with services(app).db.session() as db:
        return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def audit_verifies(app: Flask) -> None:
    verdict = check(app, batch=5000)
    assert verdict.ok, f"the audit log does not verify: {verdict.problem}"


# --- the invariants -------------------------------------------------------------------


def _may_open(db: Session, world: World, user: User, case_id: str) -> bool:
    try:
        readable_case(db, user, world.key(user.username), case_id)
    except NotPermitted:
        return False
    return True


def _opens(world: World, name: str, envelope: CaseEnvelope, whole: bool) -> bool:
    key = world.key(name)
    if key is None:
        return False
    try:
        content_key = crypto.open_content_key(envelope.header, key)
        if whole:
            with services(world.app).store.open(envelope.body_name) as body:
                crypto.decrypt_body(body, io.BytesIO(), content_key)
    except crypto.UnknownRecipient:
        return False
    return True


def _replays(db: Session, case: Case) -> None:
    """The stage changes, oldest first, walk the graph from the first stage to now."""
    rows = db.scalars(select(StageChange).where(StageChange.case_id == case.id)
                      .order_by(StageChange.at, StageChange.id)).all()
    stage = Stage.ACKNOWLEDGED.value
    for row in rows:
        move = next((t for t in GRAPH if (t.source.value, t.target.value)
                     == (row.from_stage, row.to_stage)), None)
        assert row.from_stage == stage and move is not None, (row.from_stage, row.to_stage)
        assert row.reason_code in move.reasons
        assert (row.outcome is None) == (not move.outcomes)
        stage = row.to_stage
    assert stage == case.stage


def check_cases(world: World, models: list[CaseModel],
                links: set[tuple[str, str, str]]) -> None:
    """Everything that must hold of each case, whatever sequence led here."""
    with services(world.app).db.session() as db:
        # Held here: the session's identity map keeps only what is referenced.
        users = {u.username: u for u in db.scalars(select(User).where(
            User.id.in_(world.ids.values())))}
        for model in models:
            _check_case(db, world, users, model, links)


def _check_case(db: Session, world: World, users: dict[str, User], model: CaseModel,
                links: set[tuple[str, str, str]]) -> None:
    case = db.get(Case, model.id)
    assert case is not None
    # The stage: reachable, as the model says, replayed by its rows; an outcome and a
    # conclusion date exactly when concluded.
    assert case.stage in REACHABLE and case.stage == model.stage
    concluded = case.stage == Stage.CONCLUDED.value
    assert (case.outcome is not None) == concluded == (case.concluded_on is not None)
    assert case.outcome == model.outcome
    _replays(db, case)
    assert (case.category, case.priority, case.merged_into_id) == (
        model.category, model.priority, model.merged_into)
    assert set(db.scalars(select(CaseLabel.label).where(
        CaseLabel.case_id == case.id))) == model.labels
    by_id = {v: k for k, v in world.ids.items()}
    assigned = {by_id[i] for i in db.scalars(select(Assignment.user_id).where(
        Assignment.case_id == case.id))}
    assert assigned == model.assigned
    sent = {(e.kind, e.destination) for e in db.scalars(select(Escalation).where(
        Escalation.case_id == case.id))}
    assert {d for k, d in sent if k != "referral"} == model.escalated
    assert {d for k, d in sent if k == "referral"} == model.referred
    conflicts = db.scalars(select(Conflict).where(Conflict.case_id == case.id)).all()
    assert {by_id[c.user_id] for c in conflicts} == model.conflicts
    assert {by_id[c.user_id] for c in conflicts if c.rekeyed_at is None} == model.pending
    assert {(row.case_id, row.linked_case_id, row.kind) for row in db.scalars(
        select(CaseLink).where(CaseLink.case_id == case.id))} == {
            link for link in links if link[0] == case.id}
    # Who may open it: exactly the model's readers (a declarer, someone the tipster
    # left out, a role that reads no content are all refused by the access check).
    for name, user in users.items():
        assert _may_open(db, world, user, case.id) == (name in model.readers), name
    readers = {by_id[i] for i in db.scalars(select(CaseReader.user_id).where(
        CaseReader.case_id == case.id))}
    assert model.readers <= readers <= model.readers | model.pending
    envelopes = list(case.envelopes)
    report = next(e for e in envelopes if e.kind == "report")
    for name in readers:
        assert _opens(world, name, report, whole=True), f"{name} cannot open the report"
    for name in model.conflicts - model.pending:
        assert not any(_opens(world, name, e, whole=False) for e in envelopes), \
            f"{name} declared a conflict, the case was rekeyed, and their key opens it"
    # The tipster's exclusions, on every path.
    for name in model.excluded:
        key = world.key(name)
        assert key is not None
        assert all(key.public_key.key_id not in crypto.header_key_ids(e.header)
                   for e in envelopes), f"{name} (excluded) is in a header"
        assert name not in assigned and name not in readers
    if model.feedback:
        assert case.feedback_on is not None
    else:
        assert case.feedback_on is None
