"""Intake on one unit of work: one transaction per request, events only after the commit,
and a refused or crashed request keeps nothing (no row, no body, no event)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

import intake.dialogue
import intake.events
import intake.reporting
import intake.sealing
import intake.views.dialogue
import intake.views.report
from common.unit_of_work import DomainEvent, Phase
from intake.events import FollowUpSent, ReportSubmitted, TipsterSignedIn
from intake.models import ReceiptRecord, StoredEnvelope, TipsterSession

from .conftest import RECEIPT, csrf_token, report_form, sign_in, submit
from .test_reporting import envelopes, intake_of


class Heard:
    """Subscribes to every intake event in both phases; notes what the database held."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.events: list[tuple[Phase, DomainEvent, int]] = []
        dispatcher = intake_of(app).dispatcher
        for phase in Phase:
            dispatcher.subscribe(DomainEvent, self._note(phase), phase=phase)

    def _note(self, phase: Phase) -> Any:
        def note(_session: Session, domain_event: DomainEvent) -> None:
            # Counted through another connection (committed rows only), which commits
            # nothing itself: the tests count commits.
            with intake_of(self.app).db.engine.connect() as connection:
                rows = connection.scalar(select(func.count()).select_from(ReceiptRecord))
            self.events.append((phase, domain_event, int(rows or 0)))
        return note

    def of(self, phase: Phase) -> list[DomainEvent]:
        return [e for p, e, _rows in self.events if p is phase]


@pytest.fixture
def heard(app: Flask) -> Heard:
    return Heard(app)


@pytest.fixture
def commits(app: Flask) -> list[object]:
    """Every commit on the app's engine (each test has an app, and an engine, of its own)."""
    counted: list[object] = []
    event.listen(intake_of(app).db.engine, "commit", counted.append)
    return counted


def receipts(app: Flask) -> list[ReceiptRecord]:
    with intake_of(app).db.session() as session:
        return list(session.scalars(select(ReceiptRecord)))


def stored_files(app: Flask) -> list[Path]:
    """Every file under the storage folder, ``incoming/`` included."""
    return [p for p in intake_of(app).store.root.rglob("*") if p.is_file()]


def assert_nothing_kept(app: Flask, heard: Heard) -> None:
    assert receipts(app) == []
    assert envelopes(app) == []
    assert stored_files(app) == []
    assert heard.events == []


def post_report(client: FlaskClient, **overrides: object) -> Any:
    return client.post("/submit", data=report_form(client, **overrides),
                       content_type="multipart/form-data")


def send(client: FlaskClient, text: str, **extra: object) -> Any:
    return client.post("/dialogue/message",
                       data={"csrf_token": csrf_token(client, "/dialogue"), "text": text,
                             **extra},
                       content_type="multipart/form-data")


# --- Submitting a report ------------------------------------------------------------------

def test_a_submission_is_one_transaction_then_one_event(
        app: Flask, client: FlaskClient, heard: Heard, commits: list[object]) -> None:
    form = report_form(client, identity="confidential", name="N", contact="C",
                       files=[(io.BytesIO(b"evidence"), "e.pdf")])
    commits.clear()  # the form page before does not count
    response = client.post("/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    assert len(commits) == 1
    (record,) = receipts(app)
    kinds = sorted(e.kind for e in envelopes(app))
    assert kinds == ["file", "identity", "own-report", "report"]
    # Before the commit, nothing is visible to anyone else; after it, everything at once.
    assert [(p, rows) for p, _e, rows in heard.events] == [(Phase.BEFORE_COMMIT, 0),
                                                           (Phase.AFTER_COMMIT, 1)]
    submitted = ReportSubmitted(receipt_id=record.id, unit_id="etik", category="ethics")
    assert heard.of(Phase.AFTER_COMMIT) == [submitted]
    # Ids and codes only: the receipt code the tipster was shown is in no event.
    match = RECEIPT.search(response.get_data(as_text=True))
    assert match
    assert match.group(1) not in repr(heard.events)


def test_an_invalid_form_keeps_nothing_and_tells_no_one(
        app: Flask, client: FlaskClient, heard: Heard) -> None:
    response = post_report(client, category="", files=[(io.BytesIO(b"evidence"), "e.pdf")])
    assert response.status_code == 400
    assert_nothing_kept(app, heard)


def test_a_crash_between_two_sealings_keeps_nothing_and_shows_the_error_page(
        app: Flask, client: FlaskClient, heard: Heard,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seal_json = intake.sealing.seal_json  # what intake.reporting calls
    sealed: list[str] = []

    def second_one_crashes(*args: Any, **kwargs: Any) -> str:
        if sealed:
            raise OSError("disk gone between the report and the tipster's copy")
        sealed.append(seal_json(*args, **kwargs))
        return sealed[-1]

    monkeypatch.setattr(intake.reporting, "seal_json", second_one_crashes)
    response = post_report(client, files=[(io.BytesIO(b"evidence"), "e.pdf")])
    assert len(sealed) == 1  # the report was sealed and its body placed, then the crash
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "<h1>" in page and "Traceback" not in page and "OSError" not in page
    assert RECEIPT.search(page) is None
    assert_nothing_kept(app, heard)


def test_a_failing_before_commit_subscriber_rolls_the_submission_back(
        app: Flask, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the answer a tipster would get
    after: list[DomainEvent] = []

    def refuse(_session: Session, _submitted: ReportSubmitted) -> None:
        raise RuntimeError("the record of this could not be written")

    dispatcher = intake_of(app).dispatcher
    dispatcher.subscribe(ReportSubmitted, refuse)
    dispatcher.subscribe(ReportSubmitted, lambda _s, e: after.append(e),
                         phase=Phase.AFTER_COMMIT)
    response = post_report(client, files=[(io.BytesIO(b"evidence"), "e.pdf")])
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "<h1>" in page and "Traceback" not in page
    assert RECEIPT.search(page) is None  # no receipt for a report that was not kept
    assert receipts(app) == [] and envelopes(app) == [] and stored_files(app) == []
    assert after == []


# --- The dialogue ---------------------------------------------------------------------------

def test_a_follow_up_is_stored_in_one_transaction_then_announced(
        app: Flask, client: FlaskClient, commits: list[object]) -> None:
    sign_in(client, submit(client))
    heard = Heard(app)
    token = csrf_token(client, "/dialogue")
    before = {e.id for e in envelopes(app)}
    commits.clear()
    response = client.post("/dialogue/message",
                           data={"csrf_token": token, "text": "It was 2025.",
                                 "files": [(io.BytesIO(b"more"), "m.txt")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    # Two: the session's renewal (a unit of its own, see resume) and the follow-up.
    assert len(commits) == 2
    new = sorted(e.kind for e in envelopes(app) if e.id not in before)
    assert new == ["file", "message", "own-message"]
    (record,) = receipts(app)
    assert heard.of(Phase.AFTER_COMMIT) == [FollowUpSent(receipt_id=record.id, files=1)]


def test_a_refused_follow_up_keeps_nothing_and_tells_no_one(
        app: Flask, client: FlaskClient) -> None:
    sign_in(client, submit(client))
    heard = Heard(app)
    before = sorted(p.name for p in stored_files(app))
    response = send(client, "x", files=[(io.BytesIO(b""), "empty.pdf")])
    assert response.status_code == 400
    assert sorted(p.name for p in stored_files(app)) == before
    assert len(envelopes(app)) == len(before)
    assert heard.events == []


def test_a_crash_in_a_follow_up_after_its_files_were_placed_keeps_none_of_it(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client, submit(client))
    heard = Heard(app)
    before = sorted(p.name for p in stored_files(app))

    def crash(*_args: Any, **_kwargs: Any) -> str:
        raise OSError("disk gone")

    monkeypatch.setattr(intake.dialogue, "seal_json", crash)
    response = send(client, "x", files=[(io.BytesIO(b"more"), "m.txt")])
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert sorted(p.name for p in stored_files(app)) == before
    assert len(envelopes(app)) == len(before)
    assert heard.events == []


def test_a_refused_follow_up_still_renews_the_server_half_of_the_session(
        app: Flask, client: FlaskClient) -> None:
    # The cookie's idle clock restarts with every request whatever its answer, so the
    # row's purge time must too (resume's own short transaction): otherwise the row could
    # be swept while the cookie is still good.
    sign_in(client, submit(client))
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=30)
    with intake_of(app).db.session() as session:
        (row,) = session.scalars(select(TipsterSession))
        row.purge_after = soon
    assert send(client, "").status_code == 400
    with intake_of(app).db.session() as session:
        (row,) = session.scalars(select(TipsterSession))
        assert row.purge_after > soon


def test_a_sign_in_is_announced_without_naming_anything(
        app: Flask, client: FlaskClient, heard: Heard) -> None:
    receipt = submit(client)
    heard.events.clear()
    sign_in(client, receipt)
    assert heard.of(Phase.AFTER_COMMIT) == [TipsterSignedIn()]
    assert dataclasses.fields(TipsterSignedIn) == ()
    with intake_of(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(TipsterSession)) == 1


def test_a_refused_sign_in_tells_no_one(client: FlaskClient, heard: Heard) -> None:
    submit(client)
    heard.events.clear()
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                           "receipt": "K7M3Q-9XD4H-PT2WN-BRF5Z"})
    assert response.status_code in (400, 401)
    assert heard.events == []


# --- What events may carry, and who opens transactions ------------------------------------

def test_intake_events_carry_ids_and_counts_only() -> None:
    allowed = {"receipt_id": str, "unit_id": str, "category": str, "files": int}
    found = [obj for obj in vars(intake.events).values()
             if inspect.isclass(obj) and issubclass(obj, DomainEvent) and obj is not DomainEvent]
    assert {cls.__name__ for cls in found} == {"ReportSubmitted", "FollowUpSent",
                                               "TipsterSignedIn"}
    for cls in found:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        for field in dataclasses.fields(cls):
            assert field.name in allowed, (cls.__name__, field.name)
            assert field.type in (allowed[field.name].__name__, allowed[field.name])


@pytest.mark.parametrize("module", [intake.reporting, intake.dialogue, intake.views.report,
                                    intake.views.dialogue])
def test_domain_code_opens_no_session_of_its_own_and_rolls_back_nothing_by_hand(
        module: object) -> None:
    source = inspect.getsource(module)  # type: ignore[arg-type]
    assert "db.session(" not in source and ".sessions(" not in source
    assert "except BaseException" not in source
    assert "PendingEnvelopes" not in source


def test_stored_envelopes_and_bodies_agree_after_a_mix_of_good_and_bad_requests(
        app: Flask, client: FlaskClient) -> None:
    receipt = submit(client, files=[(io.BytesIO(b"a"), "a.txt")])
    post_report(client, category="", files=[(io.BytesIO(b"b"), "b.txt")])
    sign_in(client, receipt)
    send(client, "ok", files=[(io.BytesIO(b"c"), "c.txt")])
    send(client, "", files=[(io.BytesIO(b"d"), "d.txt")])
    with intake_of(app).db.session() as session:
        ids = set(session.scalars(select(StoredEnvelope.id)))
    assert {p.name for p in stored_files(app)} == ids
