"""One unit of work: one transaction, its staged bodies, then its events (common side)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import String, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from common.db import Database
from common.storage import EnvelopeStore, commit_in_transaction
from common.unit_of_work import (
    Dispatcher,
    DomainEvent,
    Phase,
    UnitOfWork,
    emit_on,
    install,
    request_unit,
)

BODY_ID = "ab" * 16


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)


@dataclass(frozen=True)
class ThingMade(DomainEvent):
    thing_id: str


@dataclass(frozen=True)
class OtherEvent(DomainEvent):
    pass


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'uow.sqlite'}")
    Base.metadata.create_all(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> EnvelopeStore:
    return EnvelopeStore(tmp_path / "store")


def things(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Thing.id)))


def bodies(store: EnvelopeStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir() if p.is_file())


def stage_body(unit: UnitOfWork, store: EnvelopeStore, envelope_id: str = BODY_ID) -> None:
    incoming, file = store.new_incoming()
    with file:
        file.write(b"ciphertext")
    commit_in_transaction(unit.session, store, incoming, envelope_id)


def make_thing(unit: UnitOfWork, store: EnvelopeStore, thing_id: str = "t1") -> None:
    unit.session.add(Thing(id=thing_id))
    stage_body(unit, store)
    unit.emit(ThingMade(thing_id))


class Recorder:
    """Subscribers that note what they saw, and whether the change was committed then."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[tuple[str, DomainEvent, list[str]]] = []

    def before(self, _session: Session, event: DomainEvent) -> None:
        self.seen.append(("before", event, things(self.db)))

    def after(self, _session: Session, event: DomainEvent) -> None:
        self.seen.append(("after", event, things(self.db)))


def recorded(db: Database) -> tuple[Dispatcher, Recorder]:
    dispatcher, recorder = Dispatcher(), Recorder(db)
    dispatcher.subscribe(ThingMade, recorder.before, phase=Phase.BEFORE_COMMIT)
    dispatcher.subscribe(ThingMade, recorder.after, phase=Phase.AFTER_COMMIT)
    return dispatcher, recorder


def test_events_reach_after_commit_subscribers_only_once_the_change_is_committed(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher, recorder = recorded(database)
    with UnitOfWork(database, dispatcher) as unit:
        make_thing(unit, store)
        assert recorder.seen == []  # nothing is dispatched before the commit
    # Before the commit, another connection does not see the row yet; after, it does.
    assert recorder.seen == [("before", ThingMade("t1"), []),
                             ("after", ThingMade("t1"), ["t1"])]
    assert things(database) == ["t1"] and bodies(store) == [BODY_ID]


def test_a_rollback_keeps_no_row_no_body_and_dispatches_nothing(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher, recorder = recorded(database)
    with pytest.raises(RuntimeError), UnitOfWork(database, dispatcher) as unit:
        make_thing(unit, store)
        assert bodies(store) == [BODY_ID]  # placed at once...
        raise RuntimeError("the domain function failed after staging a body")
    assert bodies(store) == []  # ...and removed with the rollback
    assert things(database) == [] and recorder.seen == []
    assert list(store.incoming_dir.iterdir()) == []


def test_a_failing_before_commit_subscriber_rolls_the_action_back(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher, recorder = recorded(database)

    def refuse(_session: Session, _event: ThingMade) -> None:
        raise RuntimeError("the audit log could not be written")

    dispatcher.subscribe(ThingMade, refuse)
    unit = UnitOfWork(database, dispatcher)
    make_thing(unit, store)
    with pytest.raises(RuntimeError):
        unit.commit()
    assert things(database) == [] and bodies(store) == []
    assert [phase for phase, _event, _rows in recorder.seen] == ["before"]  # never "after"
    assert not unit.open
    unit.rollback()  # idempotent


def test_after_rollback_subscribers_hear_the_events_of_a_unit_that_did_not_commit(
        database: Database, store: EnvelopeStore) -> None:
    """To give up what a domain function reserved outside the database; never raising."""
    dispatcher, recorder = recorded(database)
    abandoned: list[DomainEvent] = []

    def broken(_session: Session, _event: ThingMade) -> None:
        raise RuntimeError("a subscriber that fails must not hide the rollback's cause")

    dispatcher.subscribe(ThingMade, lambda _s, e: abandoned.append(e),
                         phase=Phase.AFTER_ROLLBACK)
    dispatcher.subscribe(ThingMade, broken, phase=Phase.AFTER_ROLLBACK)
    with pytest.raises(ValueError, match="the cause"), UnitOfWork(database, dispatcher) as unit:
        make_thing(unit, store)
        raise ValueError("the cause")
    assert abandoned == [ThingMade("t1")] and things(database) == []
    with UnitOfWork(database, dispatcher) as unit:  # a unit that commits: not heard
        make_thing(unit, store, "t2")
    assert abandoned == [ThingMade("t1")]
    assert [phase for phase, _event, _rows in recorder.seen] == ["before", "after"]


def test_before_commit_subscribers_write_in_the_same_transaction(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher = Dispatcher()

    def audit(session: Session, made: ThingMade) -> None:
        session.add(Thing(id=f"audit-{made.thing_id}"))

    dispatcher.subscribe(ThingMade, audit)
    commits: list[object] = []
    event.listen(database.engine, "commit", commits.append)
    with UnitOfWork(database, dispatcher) as unit:
        make_thing(unit, store)
    assert len(commits) == 1
    assert sorted(things(database)) == ["audit-t1", "t1"]


def test_subscribers_hear_only_their_event_type(database: Database) -> None:
    dispatcher = Dispatcher()
    heard: list[DomainEvent] = []
    dispatcher.subscribe(OtherEvent, lambda _s, e: heard.append(e), phase=Phase.AFTER_COMMIT)
    with UnitOfWork(database, dispatcher) as unit:
        unit.emit(ThingMade("x"))
        emit_on(unit.session, OtherEvent())
    assert heard == [OtherEvent()]


def test_emit_on_a_session_outside_any_unit_is_dropped(database: Database) -> None:
    with database.session() as session:
        emit_on(session, ThingMade("nobody hears this"))  # no error, no dispatcher


# --- One unit per request ----------------------------------------------------------------

def request_app(database: Database, store: EnvelopeStore, dispatcher: Dispatcher) -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    install(app, database, dispatcher)

    @app.post("/make/<int:status>")
    def make(status: int) -> tuple[str, int]:
        make_thing(request_unit(app), store)
        return "made", status

    @app.post("/crash")
    def crash() -> str:
        make_thing(request_unit(app), store)
        raise RuntimeError("after a body was staged")

    @app.errorhandler(RuntimeError)
    def error_page(_error: RuntimeError) -> tuple[str, int]:
        return "error page", 500

    @app.get("/quiet")
    def quiet() -> str:
        return "no unit opened"

    return app


@pytest.mark.parametrize("status", [200, 201, 302])
def test_an_answer_below_400_commits_then_dispatches(
        database: Database, store: EnvelopeStore, status: int) -> None:
    dispatcher, recorder = recorded(database)
    response = request_app(database, store, dispatcher).test_client().post(f"/make/{status}")
    assert response.status_code == status
    assert things(database) == ["t1"] and bodies(store) == [BODY_ID]
    assert [phase for phase, _event, _rows in recorder.seen] == ["before", "after"]


@pytest.mark.parametrize("status", [400, 401, 404, 413, 500, 503])
def test_a_refused_answer_changes_nothing_and_dispatches_nothing(
        database: Database, store: EnvelopeStore, status: int) -> None:
    dispatcher, recorder = recorded(database)
    response = request_app(database, store, dispatcher).test_client().post(f"/make/{status}")
    assert response.status_code == status
    assert things(database) == [] and bodies(store) == [] and recorder.seen == []


def test_an_exception_after_a_body_was_staged_changes_nothing(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher, recorder = recorded(database)
    response = request_app(database, store, dispatcher).test_client().post("/crash")
    assert response.status_code == 500 and response.get_data(as_text=True) == "error page"
    assert things(database) == [] and bodies(store) == [] and recorder.seen == []


def test_a_failing_commit_answers_500_and_keeps_nothing(
        database: Database, store: EnvelopeStore) -> None:
    dispatcher, recorder = recorded(database)

    def refuse(_session: Session, _event: ThingMade) -> None:
        raise RuntimeError("the audit log could not be written")

    dispatcher.subscribe(ThingMade, refuse)
    app = request_app(database, store, dispatcher)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().post("/make/200")
    assert response.status_code == 500
    assert "made" not in response.get_data(as_text=True)
    assert things(database) == [] and bodies(store) == []
    assert [phase for phase, _event, _rows in recorder.seen] == ["before"]


def test_one_request_is_one_transaction(database: Database, store: EnvelopeStore) -> None:
    app = request_app(database, store, Dispatcher())

    @app.post("/two")
    def two() -> str:
        # Two domain functions in one request share the unit: one commit in all.
        make_thing(request_unit(app), store)
        request_unit(app).session.add(Thing(id="t2"))
        return "ok"

    commits: list[object] = []
    event.listen(database.engine, "commit", commits.append)
    assert app.test_client().post("/two").status_code == 200
    assert len(commits) == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Thing)) == 2


def test_a_request_that_never_asks_for_the_unit_opens_no_transaction(
        database: Database, store: EnvelopeStore) -> None:
    begins: list[object] = []
    event.listen(database.engine, "begin", begins.append)
    app = request_app(database, store, Dispatcher())
    assert app.test_client().get("/quiet").status_code == 200
    assert begins == []
