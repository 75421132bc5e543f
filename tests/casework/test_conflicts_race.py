"""A rekey racing an assignment, on PostgreSQL: both take the case, one after the other.

Without the case lock, each could read the headers before the other wrote them: the
rekey would drop the entry the assignment added (or refuse, leaving the declarer in),
or the assignment would write back headers sealed under the old content keys, the
declarer's entries with them. Both orders are forced, deterministically: the first
thread signals once it holds the case and waits until the second is either blocked on a
lock (the fix) or has gone ahead (the bug); no sleeps decide the order.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

import crypto
from casework import assignment, conflicts
from casework.assignment import assign
from casework.conflicts import Rekeyed, declare_conflict, rekey_case
from casework.models import Case, Conflict, Role
from tests.intake.conftest import submit
from tests.support.casework import enrol, link_intake

from .conflict_support import envelopes, key_of, opens, user_id
from .conftest import services
from .linked import Linked
from .workflow_support import act

DEADLINE = 30.0  # seconds: a hang fails the test instead of the suite


@pytest.fixture
def on_postgres(make_casework: Callable[..., Flask], postgres_url: str, tmp_path: Path,
                argon2_params: crypto.Argon2Params) -> Iterator[Linked]:
    """Casework on PostgreSQL (intake on SQLite: it takes no part in the race)."""
    escrow = crypto.generate_escrow_key()
    app = make_casework(database_url=postgres_url, escrow_public_key=escrow.public_key.raw)
    staff = {name: enrol(app, name, role, unit) for name, role, unit in (
        ("eva", Role.REVIEWER, "etik"), ("erik", Role.REVIEWER, "etik"),
        ("lars", Role.UNIT_LEAD, "etik"), ("anna", Role.REVIEWER, "akt"))}
    intake, signing = link_intake(app, tmp_path / "intake", escrow, argon2_params)
    intake.config["TESTING"] = True
    # Frida joins after the directory went to intake: no report is sealed to her, so
    # only the assignment gives her the case.
    staff["frida"] = enrol(app, "frida", Role.REVIEWER)
    yield Linked(intake, app, staff, escrow, signing)
    services(app).db.engine.dispose()


def _new_case(linked: Linked) -> str:
    """A report with a file; erik declares a conflict on it (the rekey is pending)."""
    before = _case_ids(linked)
    submit(linked.intake.test_client(), category="ethics", what="Race",
           files=[(io.BytesIO(b"%PDF-1.4 race"), "race.pdf")])
    linked.sync()
    (case_id,) = _case_ids(linked) - before
    act(linked, "erik", declare_conflict, case_id, "")
    return case_id


def _case_ids(linked: Linked) -> set[str]:
    with services(linked.casework).db.session() as db:
        return set(db.scalars(select(Case.id)))


def _someone_waits_for_a_lock(url: str) -> Callable[[], bool]:
    engine = create_engine(url)

    def waiting() -> bool:
        with engine.connect() as connection:
            return bool(connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")))
    return waiting


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the other thread neither blocked nor went ahead")
        time.sleep(0.005)  # polling a condition, not a delay that decides the order


def _race(linked: Linked, monkeypatch: pytest.MonkeyPatch, case_id: str, *,
          first: str) -> list[Any]:
    """Assign frida (lars) and rekey (eva) at once; ``first`` holds the case first."""
    waiting = _someone_waits_for_a_lock(services(linked.casework).config.database_url)
    holds, second_done = threading.Event(), threading.Event()

    def pause_first() -> None:
        # The first holds the case; the second starts now and must block (or, without
        # the lock, run ahead): wait for either before going on.
        holds.set()
        _until(lambda: waiting() or second_done.is_set())

    real_reencrypt, real_give = conflicts._reencrypt, assignment.give_case

    def reencrypt(*args: Any) -> Any:
        if first == "rekey":
            pause_first()
        return real_reencrypt(*args)

    def give_case(*args: Any) -> Any:
        if first == "assign":
            pause_first()
        return real_give(*args)

    monkeypatch.setattr(conflicts, "_reencrypt", reencrypt)
    monkeypatch.setattr(assignment, "give_case", give_case)

    def run(which: str) -> Any:
        if which != first:
            assert holds.wait(DEADLINE)
        try:
            if which == "rekey":
                return act(linked, "eva", rekey_case, case_id)
            return act(linked, "lars", assign, case_id, user_id(linked, "frida"))
        except Exception as exc:  # the assertions below show it
            return exc
        finally:
            if which != first:
                second_done.set()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["rekey", "assign"]))
    monkeypatch.undo()
    return results


def test_a_rekey_and_an_assignment_at_once_keep_the_assignee_and_drop_the_declarer(
        on_postgres: Linked, monkeypatch: pytest.MonkeyPatch) -> None:
    linked = on_postgres
    for first in ("rekey", "assign"):  # one app for both orders (a database each is slow)
        case_id = _new_case(linked)
        rekeyed, assigned = _race(linked, monkeypatch, case_id, first=first)
        assert isinstance(rekeyed, Rekeyed), (first, rekeyed)
        after = [e for e in envelopes(linked, case_id) if e.kind != "identity"]
        assert after and assigned == len(after), (first, assigned)  # frida in every one
        for name in ("frida", "eva", "lars"):
            assert all(opens(linked, key_of(linked, name), e) for e in after), (first, name)
        assert not any(opens(linked, key_of(linked, "erik"), e) for e in after), first
        with services(linked.casework).db.session() as db:
            conflict = db.scalars(select(Conflict).where(Conflict.case_id == case_id)).one()
            assert conflict.rekeyed_at is not None, first
