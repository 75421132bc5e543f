"""One request, one transaction: a refused action leaves no row, no body and no event; a
subscriber that fails inside the transaction takes the action back with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

import casework.cases
import casework.sealing
from casework.events import ReplySent
from casework.models import StaffSession
from casework.models.base import utcnow
from casework.readers import ReadersTampered
from common.unit_of_work import DomainEvent, Phase

from .conftest import csrf, services
from .events_support import a_case, post_text, record, snapshot
from .linked import Linked
from .test_cases import _reviewer


@pytest.fixture
def case_id(linked: Linked) -> str:
    return a_case(linked, category="ethics", what="The nephew again.")


@contextmanager
def _commits(linked: Linked) -> Iterator[list[int]]:
    counted: list[int] = []

    def count(_connection: Any) -> None:
        counted.append(1)

    engine = services(linked.casework).db.engine
    event.listen(engine, "commit", count)
    try:
        yield counted
    finally:
        event.remove(engine, "commit", count)


def test_a_request_is_one_transaction(linked: Linked, case_id: str) -> None:
    eva = _reviewer(linked, "eva")
    token = csrf(eva, f"/cases/{case_id}")
    actions: list[Callable[[], int]] = [
        lambda: eva.get(f"/cases/{case_id}").status_code,
        lambda: post_text(eva, case_id, "reply", "Which year?", token),
        lambda: post_text(eva, case_id, "note", "Check the files.", token)]
    for action in actions:
        with _commits(linked) as counted:
            assert action() in (200, 302)
        # The session resumed, the case read or sealed to, and the session's last use:
        # all in one transaction, committed once.
        assert len(counted) == 1


def test_refused_actions_leave_no_row_no_body_and_no_event(linked: Linked,
                                                           case_id: str) -> None:
    eva, stina = _reviewer(linked, "eva"), _reviewer(linked, "stina")
    token = csrf(eva, f"/cases/{case_id}")
    events = record(linked.casework)
    before = snapshot(linked.casework)
    # The wrong role (refused by the permission table).
    assert stina.post(f"/cases/{case_id}/notes",
                      data={"csrf_token": csrf(stina, "/"), "note-text": "x"}).status_code == 403
    # A form without a valid CSRF token.
    assert post_text(eva, case_id, "reply", "Which year?", token="forged") == 400
    # Input the domain refuses (nothing left once markup is stripped), after the access
    # check opened the report's content key.
    assert post_text(eva, case_id, "reply", "<b></b>") == 400
    # A case that does not exist.
    assert post_text(eva, "0" * 32, "note", "Check.", token=token) == 403
    assert snapshot(linked.casework) == before
    assert [e for e in events.before + events.after if not _read(e)] == []


def _read(event: DomainEvent) -> bool:
    # Fetching a CSRF token opens the case page: that read is an event of its own.
    return type(event).__name__ == "CaseRead"


def test_a_domain_error_after_sealing_removes_the_body(linked: Linked, case_id: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    eva = _reviewer(linked, "eva")
    token = csrf(eva, f"/cases/{case_id}")
    sealed: list[str] = []
    real_seal = casework.sealing.seal_item

    def seal_then_refuse(*args: Any, **kwargs: Any) -> str:
        sealed.append(real_seal(*args, **kwargs))
        raise ReadersTampered()

    monkeypatch.setattr(casework.cases, "seal_item", seal_then_refuse)
    events = record(linked.casework)
    before = snapshot(linked.casework)
    assert post_text(eva, case_id, "reply", "Which year?", token) == 409
    assert len(sealed) == 1  # a body was written and moved into place...
    assert snapshot(linked.casework) == before  # ...and removed with the rollback
    assert events.before == events.after == []


def test_a_failing_subscriber_takes_the_reply_back(linked: Linked, case_id: str) -> None:
    linked.casework.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500 as in production
    eva = _reviewer(linked, "eva")
    token = csrf(eva, f"/cases/{case_id}")
    events = record(linked.casework)

    def refuse(_session: Session, _event: ReplySent) -> None:
        raise RuntimeError("the audit log could not be written")

    services(linked.casework).dispatcher.subscribe(ReplySent, refuse,
                                                   phase=Phase.BEFORE_COMMIT)
    before = snapshot(linked.casework)
    assert post_text(eva, case_id, "reply", "Which year?", token) == 500
    assert snapshot(linked.casework) == before  # no envelope row, no body
    assert [type(e) for e in events.before] == [ReplySent]  # heard inside, then undone
    assert events.after == []  # never handed on as done
    # A note (no failing subscriber for it) goes through as before.
    assert post_text(eva, case_id, "note", "Check the files.", token) == 302
    assert len(snapshot(linked.casework).rows) == len(before.rows) + 1


def test_a_refused_request_still_counts_as_activity(linked: Linked, case_id: str) -> None:
    stina = _reviewer(linked, "stina")
    db = services(linked.casework).db
    for path, status in ((f"/cases/{case_id}", 403), ("/", 200)):
        earlier = utcnow() - dt.timedelta(minutes=5)
        with db.session() as session:
            session.execute(update(StaffSession).values(last_seen_at=earlier))
        assert stina.get(path).status_code == status
        with db.session() as session:
            (seen,) = session.scalars(select(StaffSession.last_seen_at))
        assert seen > earlier  # the idle limit counts from this request, refused or not
