"""The inbox's filters: each returns exactly its cases, alone and combined, page by page;
readership decides (escalations in, exclusions and conflicts out); bad values are a 400;
the plans start from the inbox's indexes on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.orm import Session

from casework import migrate
from casework.bridge.imports import new_reference
from casework.inbox import PAGE_SIZE, inbox
from casework.models import (
    Assignment,
    Case,
    CaseLabel,
    Conflict,
    Escalation,
    Membership,
    Priority,
    Role,
    Stage,
    Unit,
    User,
)
from casework.models.cases import CaseReader
from tests.intake.conftest import submit

from .conftest import services
from .linked import Linked
from .test_cases import _reviewer

TODAY = dt.datetime.now(dt.UTC).date()
LABELS = ("roads", "it-upphandling", "100%_sure")


@dataclass
class Spec:
    """One case built with direct rows, and what the filters should see in it."""

    unit: str
    stage: str
    received: dt.date
    priority: str = Priority.NORMAL.value
    labels: tuple[str, ...] = ()
    assigned: tuple[str, ...] = ()  # usernames
    readers: tuple[str, ...] = ("eva", "erik", "lars")
    acknowledged: bool = True
    feedback: bool = False
    escalated_to: str | None = None
    conflict: tuple[str, ...] = ()  # usernames with a declared conflict (not rekeyed)
    id: str = field(default="")


def _ids(db: Session) -> dict[str, str]:
    return {name: ident for name, ident in db.execute(select(User.username, User.id))}


def _build(app: Flask, specs: list[Spec]) -> None:
    with services(app).db.session() as db:
        people = _ids(db)
        for spec in specs:
            case = Case(reference=new_reference(), unit_id=spec.unit, category="ethics",
                        stage=spec.stage, received_on=spec.received, priority=spec.priority,
                        acknowledged_on=spec.received if spec.acknowledged else None,
                        feedback_on=spec.received + dt.timedelta(days=30)
                        if spec.feedback else None,
                        tipster_public_key=bytes(32), intake_receipt_id=secrets.token_hex(16))
            db.add(case)
            db.flush()
            spec.id = case.id
            db.add_all([CaseReader(case_id=case.id, user_id=people[name])
                        for name in spec.readers])
            db.add_all([Assignment(case_id=case.id, user_id=people[name],
                                   assigned_by=people.get("lars", people["lena"]))
                        for name in spec.assigned])
            db.add_all([CaseLabel(case_id=case.id, label=label) for label in spec.labels])
            db.add_all([Conflict(case_id=case.id, user_id=people[name])
                        for name in spec.conflict])
            if spec.escalated_to:
                db.add(Escalation(case_id=case.id, kind="unit", destination=spec.escalated_to,
                                  reason_code="competence"))


def _specs(count: int, seed: int = 7) -> list[Spec]:
    rng = random.Random(seed)
    specs = []
    for _ in range(count):
        stage = rng.choice(list(Stage)).value
        specs.append(Spec(
            unit=rng.choice(("etik", "etik", "etik", "akt")), stage=stage,
            received=TODAY - dt.timedelta(days=rng.randrange(200)),
            priority=rng.choice(list(Priority)).value,
            labels=tuple(sorted(set(rng.sample(LABELS, rng.randrange(3))))),
            assigned=tuple(rng.sample(("eva", "erik"), rng.randrange(3))),
            readers=tuple(r for r in ("eva", "erik", "lars") if rng.random() < 0.85),
            acknowledged=stage != Stage.RECEIVED.value,
            feedback=stage == Stage.CONCLUDED.value and rng.random() < 0.7,
            escalated_to="etik" if rng.random() < 0.3 else None,
            conflict=("eva",) if rng.random() < 0.05 else ()))
    return specs


def _visible(spec: Spec, who: str, units: set[str]) -> bool:
    return who in spec.readers and who not in spec.conflict and (
        spec.unit in units or spec.escalated_to in units)


def _overdue(spec: Spec, kind: str) -> bool:
    ack = spec.stage == Stage.RECEIVED.value and not spec.acknowledged \
        and spec.received < TODAY - dt.timedelta(days=7)
    feedback = not spec.feedback and spec.stage != Stage.CONCLUDED.value \
        and spec.received < TODAY - dt.timedelta(days=90)
    return {"acknowledgement": ack, "feedback": feedback, "any": ack or feedback}[kind]


def _expected(specs: list[Spec], who: str, units: set[str], **f: Any) -> list[str]:
    """The ids the filters should give, newest first (the oracle, in Python)."""
    scope = {f["unit"]} if f.get("unit") else units
    found = [s for s in specs if _visible(s, who, units) and _visible(s, who, scope)
             and (not f.get("stage") or s.stage == f["stage"])
             and (not f.get("priority") or s.priority == f["priority"])
             and (not f.get("label") or f["label"] in s.labels)
             and (not f.get("mine") or who in s.assigned)
             and (not f.get("assignee") or (not s.assigned if f["assignee"] == "none"
                                            else f["assignee"] in s.assigned))
             and (not f.get("overdue") or _overdue(s, f["overdue"]))]
    found.sort(key=lambda s: (s.received, s.id), reverse=True)
    return [s.id for s in found]


def _all_pages(db: Session, user: User, **f: Any) -> list[str]:
    """Every page of the filtered inbox, followed by its cursor; ids in order."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = inbox(db, user, cursor=cursor, **f)
        assert len(page.cases) <= PAGE_SIZE
        seen += [c.id for c in page.cases]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never end")


@pytest.fixture
def world(linked: Linked, enrol: Any) -> Iterator[tuple[Linked, list[Spec]]]:
    enrol("lars", Role.UNIT_LEAD, "etik")
    specs = _specs(160)
    _build(linked.casework, specs)
    yield linked, specs


def _user(db: Session, name: str) -> User:
    return db.scalars(select(User).where(User.username == name)).one()


def _translate(f: dict[str, Any], people: dict[str, str]) -> dict[str, Any]:
    """Usernames in the oracle's filters to ids in the domain's."""
    if f.get("assignee") not in (None, "none"):
        return {**f, "assignee": people[f["assignee"]]}
    return f


def test_each_filter_alone_returns_exactly_its_cases(world: tuple[Linked, list[Spec]]) -> None:
    linked, specs = world
    filters: list[dict[str, Any]] = [{}, {"unit": "etik"}, {"mine": True},
                                     {"assignee": "none"}, {"assignee": "erik"},
                                     {"assignee": "eva"}]
    filters += [{"stage": s.value} for s in Stage]
    filters += [{"priority": p.value} for p in Priority]
    filters += [{"label": label} for label in LABELS]
    filters += [{"overdue": kind} for kind in ("acknowledgement", "feedback", "any")]
    filters += [{"sort": "oldest"}]
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        eva = _user(db, "eva")
        people = _ids(db)
        for f in filters:
            expected = _expected(specs, "eva", {"etik"}, **f)
            if f.get("sort") == "oldest":
                expected.reverse()
            got = _all_pages(db, eva, **_translate(f, people))
            assert got == expected, f
            assert expected or f.get("overdue") == "acknowledgement", f  # not vacuous


def test_combinations_and_pages_have_no_duplicates_and_no_gaps(
        world: tuple[Linked, list[Spec]]) -> None:
    linked, specs = world
    rng = random.Random(3)
    axes: dict[str, list[Any]] = {
        "stage": [None, *[s.value for s in Stage]], "priority": [None, *list(Priority)],
        "label": [None, *LABELS], "mine": [False, True],
        "assignee": [None, "none", "erik"], "overdue": [None, "feedback", "any"],
        "sort": ["newest", "oldest"]}
    combos = [dict(zip(axes, values, strict=True))
              for values in itertools.product(*axes.values())]
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        people = _ids(db)
        for who in ("eva", "lars"):
            user = _user(db, who)
            for f in rng.sample(combos, 60):
                f = {k: v for k, v in f.items() if v}
                expected = _expected(specs, who, {"etik"}, **f)
                if f["sort"] == "oldest":
                    expected.reverse()
                got = _all_pages(db, user, **_translate(f, people))
                assert got == expected and len(set(got)) == len(got), (who, f)


def test_pages_of_a_filter_join_up_across_many_pages(linked: Linked) -> None:
    # 130 assessed cases on 20 days (ties on received_on), plus others around them.
    specs = [Spec("etik", Stage.ASSESSED.value, TODAY - dt.timedelta(days=i % 20))
             for i in range(130)]
    specs += [Spec("etik", Stage.INVESTIGATING.value, TODAY - dt.timedelta(days=i % 20))
              for i in range(40)]
    for spec in specs:
        spec.readers = ("eva",)
        spec.assigned = ("eva",)
    _build(linked.casework, specs)
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        eva = _user(db, "eva")
        for f in ({"stage": "assessed"}, {"mine": True}, {"stage": "assessed", "mine": True},
                  {"stage": "assessed", "sort": "oldest"}, {}):
            got = _all_pages(db, eva, **f)
            expected = _expected(specs, "eva", {"etik"}, **f)
            if f.get("sort") == "oldest":
                expected.reverse()
            assert got == expected and len(got) == len(set(got)) >= 130, f


def test_the_label_filter_pages_through_its_own_index_with_other_filters(
        linked: Linked, enrol: Any) -> None:
    enrol("lars", Role.UNIT_LEAD, "etik")
    # 140 cases labelled "roads" on 15 days (ties on received_on straddle the pages), in
    # mixed stages, some assigned, some escalated in from akt, some hidden from eva (not
    # a reader, a declared conflict, another unit), and the same days with other labels.
    rng = random.Random(11)
    specs = []
    for i in range(140):
        stage = (Stage.RECEIVED, Stage.ASSESSED, Stage.INVESTIGATING)[i % 3].value
        specs.append(Spec(
            "akt" if i % 7 == 0 else "etik", stage, TODAY - dt.timedelta(days=i % 15),
            priority=(Priority.HIGH if i % 4 == 0 else Priority.NORMAL).value,
            labels=("roads", "it-upphandling") if i % 5 == 0 else ("roads",),
            assigned=tuple(name for name, every in (("eva", 2), ("lars", 3)) if i % every == 0),
            readers=("erik", "lars") if i % 11 == 0 else ("eva", "erik", "lars"),
            acknowledged=stage != Stage.RECEIVED.value,
            escalated_to="etik" if i % 14 == 0 else None,
            conflict=("eva",) if i % 13 == 0 else ()))
    specs += [Spec("etik", Stage.ASSESSED.value, TODAY - dt.timedelta(days=rng.randrange(15)),
                   labels=("100%_sure",)) for _ in range(30)]
    _build(linked.casework, specs)
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        people = _ids(db)
        for who in ("eva", "lars"):
            user = _user(db, who)
            for f in ({"label": "roads"}, {"label": "roads", "sort": "oldest"},
                      {"label": "roads", "stage": "assessed"},
                      {"label": "roads", "priority": "high", "sort": "oldest"},
                      {"label": "roads", "mine": True}, {"label": "roads", "assignee": "eva"},
                      {"label": "roads", "assignee": "none"}, {"label": "roads", "unit": "etik"},
                      {"label": "roads", "overdue": "acknowledgement"},
                      {"label": "it-upphandling", "stage": "received"}):
                expected = _expected(specs, who, {"etik"}, **f)
                if f.get("sort") == "oldest":
                    expected.reverse()
                got = _all_pages(db, user, **_translate(f, people))
                assert got == expected and len(set(got)) == len(got), (who, f)
                assert expected, (who, f)  # not vacuous
        # More than two full pages, so the cursor was followed across ties at least twice.
        assert len(_expected(specs, "eva", {"etik"}, label="roads")) > 2 * PAGE_SIZE


def test_the_page_links_keep_every_filter(world: tuple[Linked, list[Spec]]) -> None:
    linked, specs = world
    eva = _reviewer(linked, "eva")
    path = "/cases/?overdue=any&sort=oldest&assignee=none"
    page = eva.get(path).get_data(as_text=True)
    seen = re.findall(r'href="/cases/([0-9a-f]{32})"', page)
    while (more := re.search(r'href="(/cases/\?[^"]*after=[^"]+)">', page)):
        link = more.group(1).replace("&amp;", "&")
        for part in ("overdue=any", "sort=oldest", "assignee=none"):
            assert part in link
        page = eva.get(link).get_data(as_text=True)
        seen += re.findall(r'href="/cases/([0-9a-f]{32})"', page)
    expected = _expected(specs, "eva", {"etik"}, overdue="any", assignee="none")
    assert seen == list(reversed(expected))


def test_a_case_escalated_to_akt_reaches_its_readers_not_the_excluded_one(
        linked: Linked, enrol: Any) -> None:
    enrol("lars", Role.UNIT_LEAD, "etik")
    # Escalated from etik to akt: Anna's key was added (a case_readers row); Lena, whom
    # the tipster excluded, was left out of the header, so she has none.
    escalated = Spec("etik", Stage.ASSESSED.value, TODAY, escalated_to="akt",
                     readers=("eva", "anna"))
    stays = Spec("etik", Stage.ASSESSED.value, TODAY, readers=("eva",))
    _build(linked.casework, [escalated, stays])
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        anna, lena = _user(db, "anna"), _user(db, "lena")
        for f in ({}, {"unit": "akt"}, {"stage": "assessed"}, {"assignee": "none"}):
            assert [c.id for c in inbox(db, anna, **f).cases] == [escalated.id], f
            assert inbox(db, lena, **f).cases == [], f
        eva = _user(db, "eva")
        assert {c.id for c in inbox(db, eva).cases} == {escalated.id, stays.id}
        # The unit filter means "of that unit or escalated to it".
        assert {c.id for c in inbox(db, eva, unit="etik").cases} == {escalated.id, stays.id}
    assert escalated.id in _reviewer(linked, "anna").get("/cases/?unit=akt").get_data(
        as_text=True)


EVERY_FILTER = ["", "?mine=1", "?assignee=none", "?overdue=any", "?overdue=feedback",
                "?overdue=acknowledgement", "?sort=oldest", "?unit=etik",
                *[f"?stage={s.value}" for s in Stage], *[f"?priority={p.value}" for p in Priority],
                "?label=roads"]


def test_a_person_the_tipster_excluded_never_sees_the_case_under_any_filter(
        linked: Linked) -> None:
    erik_key = linked.staff["erik"].key
    assert erik_key is not None
    submit(linked.intake.test_client(), category="ethics", what="The board's trips",
           excluded=[erik_key.public_key.key_id.hex()])
    linked.sync()
    with services(linked.casework).db.session() as db:
        case = db.scalars(select(Case)).one()
        reference = case.reference
        db.add(CaseLabel(case_id=case.id, label="roads"))
    erik, eva = _reviewer(linked, "erik"), _reviewer(linked, "eva")
    for query in EVERY_FILTER:
        assert reference not in erik.get(f"/cases/{query}").get_data(as_text=True), query
    assert reference in eva.get("/cases/?label=roads").get_data(as_text=True)


def test_a_declared_conflict_hides_the_case_from_the_declarer_at_once(
        linked: Linked) -> None:
    specs = [Spec("etik", Stage.ASSESSED.value, TODAY, conflict=("eva",), readers=("eva",
                                                                                "erik"))]
    _build(linked.casework, specs)
    eva, erik = _reviewer(linked, "eva"), _reviewer(linked, "erik")
    for query in EVERY_FILTER:
        assert specs[0].id not in eva.get(f"/cases/{query}").get_data(as_text=True), query
    assert specs[0].id in erik.get("/cases/").get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "stage=bogus", "priority=critical", "overdue=yesterday", "sort=random", "mine=yes",
    "assignee=0123", "assignee=x%27--", "unit=akt", "unit=nowhere", "after=garbage",
    "after=2026-13-01_ab", "label=" + "x" * 41, "stage=received&stage=concluded",
    "label=" + "y" * 3000, "z=" + "q" * 5000,
])
def test_bad_filter_values_are_a_clear_400(linked: Linked, query: str) -> None:
    eva = _reviewer(linked, "eva")
    response = eva.get(f"/cases/?{query}")
    assert response.status_code == 400, query
    assert "error occurred on our side" not in response.get_data(as_text=True)


def test_assignee_must_be_a_reader_of_my_units(linked: Linked) -> None:
    with services(linked.casework).db.session() as db:
        people = _ids(db)
    eva = _reviewer(linked, "eva")
    assert eva.get(f"/cases/?assignee={people['erik']}").status_code == 200
    for other in ("anna", "lena", "cecilia", "admin"):  # other units, non-readers
        assert eva.get(f"/cases/?assignee={people[other]}").status_code == 400, other


def test_json_and_other_methods_are_refused(linked: Linked) -> None:
    eva = _reviewer(linked, "eva")
    assert eva.post("/cases/", json={"stage": "received"}).status_code in (405, 415)
    # The app refuses a JSON body on any request, a GET included: filters are query args.
    assert eva.get("/cases/", json={"stage": "received"}).status_code == 415
    assert eva.get("/cases/", data=b"\xff\xfe", content_type="text/plain").status_code < 500


def test_sql_in_the_label_filter_is_only_a_label(world: tuple[Linked, list[Spec]]) -> None:
    linked, _ = world
    eva = _reviewer(linked, "eva")
    for label in ("' OR 1=1 --", "roads' --", "%", "_", "100%", "x\"; DROP TABLE cases; --"):
        page = eva.get("/cases/", query_string={"label": label})
        assert page.status_code == 200, label
        assert not re.findall(r'href="/cases/[0-9a-f]{32}"', page.get_data(as_text=True)), label
    # LIKE's wildcards are not wildcards: "100%_sure" is found only by itself.
    with linked.casework.app_context(), services(linked.casework).db.session() as db:
        assert db.scalar(select(Case.id).limit(1)) is not None
        eva_user = _user(db, "eva")
        assert inbox(db, eva_user, label="100%_sure").cases
        assert not inbox(db, eva_user, label="100__sure").cases


def test_columns_labels_assignees_conflict_flag_and_merge(linked: Linked, enrol: Any) -> None:
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    xss = '<script>alert(1)</script>'
    primary = Spec("etik", Stage.ASSESSED.value, TODAY, readers=("eva", "lars"))
    hidden = Spec("etik", Stage.ASSESSED.value, TODAY, readers=("lars",))
    flagged = Spec("etik", Stage.ASSESSED.value, TODAY, labels=(xss, "roads"),
                   assigned=("eva", "erik"), conflict=("erik",), readers=("eva", "lars"))
    duplicate = Spec("etik", Stage.ASSESSED.value, TODAY, readers=("eva", "lars"))
    other_duplicate = Spec("etik", Stage.ASSESSED.value, TODAY, readers=("eva", "lars"))
    _build(linked.casework, [primary, hidden, flagged, duplicate, other_duplicate])
    with services(linked.casework).db.session() as db:
        references = {i: r for i, r in db.execute(select(Case.id, Case.reference))}
        db.get(Case, duplicate.id).merged_into_id = primary.id  # type: ignore[union-attr]
        db.get(Case, other_duplicate.id).merged_into_id = hidden.id  # type: ignore[union-attr]
    eva = _reviewer(linked, "eva").get("/cases/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in eva and xss not in eva
    assert '<span class="tag">roads</span>' in eva
    assert "Eva" in eva and "Erik" in eva  # assignees' names
    assert "Needs reassignment" not in eva  # a reviewer is not shown the flag
    assert f"Merged into {references[primary.id]}" in eva
    assert references[hidden.id] not in eva  # she does not read that primary
    assert "Merged into another case" in eva
    lars = _reviewer(linked, "lars").get("/cases/").get_data(as_text=True)
    assert lars.count("Needs reassignment") == 1
    assert f"Merged into {references[hidden.id]}" in lars


def test_one_query_per_column_whatever_the_page_holds(linked: Linked, enrol: Any) -> None:
    enrol("lars", Role.UNIT_LEAD, "etik")

    def statements(count: int) -> int:
        specs = [Spec("etik", Stage.ASSESSED.value, TODAY, labels=("roads",),
                      assigned=("eva",), conflict=("erik",), readers=("lars",))
                 for _ in range(count)]
        _build(linked.casework, specs)
        engine = services(linked.casework).db.engine
        seen: list[str] = []

        def hook(*args: Any) -> None:
            seen.append(args[2])

        with linked.casework.app_context(), services(linked.casework).db.session() as db:
            lars = _user(db, "lars")
            event.listen(engine, "before_cursor_execute", hook)
            try:
                page = inbox(db, lars, stage="assessed")
            finally:
                event.remove(engine, "before_cursor_execute", hook)
            assert len(page.cases) == min(PAGE_SIZE, total[0] + count)
        total[0] += count
        return len(seen)

    total = [0]
    assert statements(3) == statements(60)


def test_empty_states_say_what_to_do(linked: Linked) -> None:
    eva = _reviewer(linked, "eva")
    empty = eva.get("/cases/").get_data(as_text=True)
    assert 'id="inbox-empty"' in empty and "next sync" in empty
    filtered = eva.get("/cases/?stage=concluded").get_data(as_text=True)
    assert "Clear the filters" in filtered and "matches these filters" in filtered


# --- the plans: every filter starts from an index in the page's order -----------------

PLAN_FILTERS: dict[str, dict[str, Any]] = {
    "all": {}, "mine": {"mine": True}, "stage": {"stage": "received"},
    "priority": {"priority": "urgent"}, "overdue": {"overdue": "feedback"},
    "assignee-none": {"assignee": "none"}, "label": {"label": "roads"},
    # A later page of a label: the cursor is a seek in the label's own index.
    "label-later": {"label": "roads", "cursor": f"{TODAY.isoformat()}_{'f' * 32}"},
    "label-oldest": {"label": "roads", "sort": "oldest"},
    "overdue-any": {"overdue": "any"},
}
PLAN_INDEX = {"all": "ix_case_readers_user_received", "mine": "ix_assignments_user_received",
              "stage": "ix_cases_stage_received", "priority": "ix_cases_priority_received",
              "overdue": "ix_case_readers_user_received",
              "assignee-none": "ix_case_readers_user_received",
              "label": "ix_case_labels_label_received",
              "label-later": "ix_case_labels_label_received",
              "label-oldest": "ix_case_labels_label_received",
              "overdue-any": "ix_case_readers_user_received"}


def _captured(session: Session, user: User, f: dict[str, Any]) -> tuple[str, Any]:
    seen: list[tuple[str, Any]] = []

    def hook(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        if "LIMIT" in statement and "FROM" in statement and "cases" in statement:
            seen.append((statement, params))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", hook)
    try:
        inbox(session, user, **f)
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    return seen[0]


def _fill(session: Session, n: int) -> User:
    """Units, a reader and n cases of her unit by direct rows (Core, fast)."""
    for unit in ("etik", "akt"):
        session.add(Unit(id=unit, name_sv=unit, name_en=unit))
    reader = User(username="eva", display_name="Eva", password_hash="x")
    session.add(reader)
    session.flush()
    session.add(Membership(user_id=reader.id, unit_id="etik", role=Role.REVIEWER.value))
    session.flush()
    rng = random.Random(1)
    cases, readers, assigned, labels = [], [], [], []
    for i in range(n):
        received = TODAY - dt.timedelta(days=rng.randrange(700))
        case_id = f"{i:032x}"
        cases.append({"id": case_id, "reference": f"LY-{i:08d}", "unit_id": "etik",
                      "category": "ethics", "stage": rng.choice(list(Stage)).value,
                      "priority": rng.choice(list(Priority)).value, "received_on": received,
                      "tipster_public_key": bytes(32), "intake_receipt_id": case_id,
                      "created_at": dt.datetime(2026, 1, 1)})
        readers.append({"case_id": case_id, "user_id": reader.id, "received_on": received})
        if i % 50 == 0:
            assigned.append({"case_id": case_id, "user_id": reader.id, "received_on": received,
                             "assigned_by": reader.id, "assigned_at": dt.datetime(2026, 1, 1)})
        if i % 100 == 0:
            labels.append({"case_id": case_id, "label": "roads"})
    session.execute(insert(Case), cases)
    session.execute(insert(CaseReader), readers)
    session.execute(insert(Assignment), assigned)
    session.execute(insert(CaseLabel), labels)
    session.flush()
    return reader


def test_the_plans_use_the_inbox_indexes_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'plans.sqlite'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        reader = _fill(session, 3000)
        for name, f in PLAN_FILTERS.items():
            statement, params = _captured(session, reader, f)
            plan = " / ".join(str(row[3]) for row in session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params))
            assert PLAN_INDEX[name] in plan, (name, plan)
            assert "SCAN cases" not in plan, (name, plan)
            # Rows come in the page's order from the index: nothing is sorted, so a
            # page costs a page, not every row the driving index holds for the filter.
            assert "TEMP B-TREE" not in plan, (name, plan)
            if name.startswith("overdue"):
                # The deadline bounds the driving index's range: the newest cases, which
                # cannot be overdue yet, are never read.
                assert "received_on<?" in plan, plan
            if name == "label-later":
                # The cursor seeks in the label's index: page 2,000 costs what page 2 does.
                assert "(label=? AND (received_on,case_id)<(?,?))" in plan, plan
    engine.dispose()


def test_the_plans_use_the_inbox_indexes_on_postgresql(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    with Session(engine) as session:
        reader = _fill(session, 20000)
        session.commit()
        session.execute(text("ANALYZE"))
        for name, f in PLAN_FILTERS.items():
            statement, params = _captured(session, reader, f)
            plan = "\n".join(row[0] for row in session.connection().exec_driver_sql(
                "EXPLAIN " + statement, params))
            assert PLAN_INDEX[name] in plan, (name, plan)
            assert "Seq Scan on cases" not in plan, (name, plan)
            if name.startswith("label"):
                # The label's entries come in the page's order: no sort of all of them.
                assert "Sort" not in plan, (name, plan)
    engine.dispose()


def test_the_migration_copies_received_on_into_existing_rows(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    migrate.upgrade(url, "0008")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (id, name_sv, name_en, receives_reports) "
                          "VALUES ('etik', 'e', 'e', 1)"))
        conn.execute(text(
            "INSERT INTO users (id, username, display_name, password_hash, must_change_password,"
            " totp_confirmed, totp_last_step, failed_attempts, active, created_at) VALUES "
            "('u1', 'eva', 'Eva', 'x', 0, 0, 0, 0, 1, '2026-01-01')"))
        conn.execute(text(
            "INSERT INTO cases (id, reference, unit_id, category, stage, received_on, priority,"
            " tipster_public_key, intake_receipt_id, created_at) VALUES ('c1', 'LY-1', 'etik',"
            " 'ethics', 'received', '2025-03-04', 'normal', x'00', 'r1', '2026-01-01')"))
        conn.execute(text("INSERT INTO case_readers (case_id, user_id) VALUES ('c1', 'u1')"))
        conn.execute(text("INSERT INTO assignments (case_id, user_id, assigned_by, assigned_at)"
                          " VALUES ('c1', 'u1', 'u1', '2026-01-01')"))
    engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        for table in ("case_readers", "assignments"):
            assert conn.execute(text(f"SELECT received_on FROM {table}")).scalar() \
                == "2025-03-04", table  # noqa: S608 (a constant table name)
    engine.dispose()


def test_rows_added_by_the_orm_copy_received_on(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    with services(linked.casework).db.session() as db:
        received = db.scalars(select(Case.received_on)).one()
        copies = set(db.scalars(select(CaseReader.received_on)))
    assert copies == {received}
