"""The verify page: "Verify now" (a POST) checks the log in the background, in read-only
transactions, so writers commit while it reads; the page (a GET) only shows the newest
run's progress and outcome, and starts nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.audit import verification
from casework.events import CaseRead
from casework.models import AuditEntry, Role
from casework.models.base import utcnow
from tests.support.databases import ON_POSTGRESQL

from .audit_support import emit, entries, sql
from .conftest import Staff, csrf, log_in, services

WAIT = 30.0  # an upper bound for a thread that should be done at once, never a pause


def _auditor(app: Flask, enrol: Callable[..., Staff]) -> FlaskClient:
    client = app.test_client()
    log_in(app, client, enrol("ulla", Role.AUDITOR, "kof"))
    return client


def _verify_now(client: FlaskClient) -> verification.Run:
    """Post "Verify now"; the run it started (or found running)."""
    response = client.post("/audit/verify", data={"csrf_token": csrf(client, "/audit/verify")})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/audit/verify")
    run = verification.latest(services(client.application).config)
    assert run is not None
    return run


def _finished(app: Flask, run: verification.Run) -> verification.Run:
    assert verification.wait(run.id, WAIT), "the verification did not end"
    done = verification.latest(services(app).config)
    assert done is not None and done.id == run.id and done.state != "running"
    return done


def test_verify_now_checks_in_the_background_and_the_page_shows_the_outcome(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = _auditor(casework, enrol)
    emit(casework, *[CaseRead("c" * 32, "b" * 32) for _ in range(5)])
    page = client.get("/audit/verify").get_data(as_text=True)
    assert 'id="verify-none"' in page and 'id="verify-now"' in page
    # The GET started nothing and recorded no run (query arguments change nothing).
    assert client.get("/audit/verify?start=1").status_code == 200
    assert verification.latest(services(casework).config) is None
    assert not [e for e in entries(casework) if e.action == "audit_verification_started"]

    run = _verify_now(client)
    done = _finished(casework, run)
    assert done.state == "done" and done.outcome is not None and done.outcome.ok
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "The log is intact" in page and 'id="verify-when"' in page
    assert done.outcome.head_hash in page
    started = [e for e in entries(casework) if e.action == "audit_verification_started"]
    assert len(started) == 1 and json.loads(started[0].details) == {"run": run.id}
    assert started[0].actor_id == run.started_by
    # The record is owner-only, like every file of the instance.
    record = services(casework).config.instance_path / verification.STATE_FILE
    assert record.stat().st_mode & 0o777 == 0o600


def test_a_write_commits_while_a_verification_is_reading(
        casework: Flask, enrol: Callable[..., Staff], monkeypatch: pytest.MonkeyPatch) -> None:
    client = _auditor(casework, enrol)
    eva = enrol("eva", Role.REVIEWER, "etik")
    emit(casework, *[CaseRead("c" * 32, "b" * 32) for _ in range(20)])
    db = services(casework).db
    own_session = db.session
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    @contextmanager
    def session() -> Iterator[Session]:
        """The verifier's first transaction stops half way, after it has read."""
        with own_session() as s:
            if threading.current_thread().name.startswith("audit-verification-") \
                    and not inside.is_set():
                seen.append(s.scalar(select(func.max(AuditEntry.seq))) or 0)
                inside.set()
                assert release.wait(WAIT)
            yield s

    monkeypatch.setattr(db, "session", session)
    run = _verify_now(client)
    try:
        assert inside.wait(WAIT), "the verification never began reading"
        # The verifier is inside an open read transaction. A sign-in (a new session row
        # and its audit entry, through a unit of work that takes the write lock at BEGIN)
        # commits now; with the old in-request verify it waited for the whole check.
        log_in(casework, casework.test_client(), eva)
        assert client.get("/audit/verify").status_code == 200  # a request's commit too
        assert entries(casework)[-1].seq > seen[0]
    finally:
        release.set()
    done = _finished(casework, run)
    assert done.outcome is not None and done.outcome.ok, done.outcome
    # Its bounds were fixed when it read them, and what came after is left to the next
    # run, which checks it too. On SQLite that is the snapshot of the transaction's first
    # read, before the sign-in; on PostgreSQL (read committed) the bounds' own statement.
    if ON_POSTGRESQL:
        assert seen[0] < done.outcome.head_seq <= entries(casework)[-1].seq
    else:
        assert done.outcome.head_seq == seen[0] < entries(casework)[-1].seq
    again = _finished(casework, _verify_now(client))
    assert again.outcome is not None and again.outcome.ok
    assert again.outcome.head_seq >= done.outcome.head_seq
    if not ON_POSTGRESQL:
        assert again.outcome.head_seq > done.outcome.head_seq  # the sign-in's entry too


def test_a_verification_names_the_first_bad_entry(casework: Flask,
                                                  enrol: Callable[..., Staff]) -> None:
    client = _auditor(casework, enrol)
    emit(casework, CaseRead("c" * 32, "b" * 32))
    target = entries(casework)[-1].seq
    sql(casework, "UPDATE audit_entries SET case_id = :c WHERE seq = :s", c="e" * 32,
        s=target)
    done = _finished(casework, _verify_now(client))
    assert done.outcome is not None and done.outcome.problem_seq == target
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "NOT intact" in page and f"entry {target}" in page and "altered" in page


def test_a_second_post_while_running_starts_no_second_run(
        casework: Flask, enrol: Callable[..., Staff], monkeypatch: pytest.MonkeyPatch) -> None:
    client = _auditor(casework, enrol)
    db = services(casework).db
    own_session = db.session
    release = threading.Event()

    @contextmanager
    def session() -> Iterator[Session]:
        with own_session() as s:
            if threading.current_thread().name.startswith("audit-verification-"):
                assert release.wait(WAIT)
            yield s

    monkeypatch.setattr(db, "session", session)
    try:
        first = _verify_now(client)
        page = client.get("/audit/verify").get_data(as_text=True)
        assert 'id="verify-running"' in page and 'id="verify-now"' not in page
        assert _verify_now(client).id == first.id
    finally:
        release.set()
    _finished(casework, first)
    assert len([e for e in entries(casework) if e.action == "audit_verification_started"]) == 1


def test_a_stalled_run_is_said_so_and_can_be_replaced(casework: Flask,
                                                      enrol: Callable[..., Staff]) -> None:
    client = _auditor(casework, enrol)
    config = services(casework).config
    long_ago = utcnow() - verification.SILENT_FOR - dt.timedelta(minutes=1)
    verification._write(config, verification.Run(
        "d" * 32, verification.State.RUNNING, "x" * 32, long_ago, long_ago))
    page = client.get("/audit/verify").get_data(as_text=True)
    assert 'id="verify-stalled"' in page and 'id="verify-now"' in page
    fresh = _verify_now(client)
    assert fresh.id != "d" * 32
    assert _finished(casework, fresh).state == "done"


def test_refused_posts_start_nothing(casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = _auditor(casework, enrol)
    before = len(entries(casework))
    assert client.post("/audit/verify", data={}).status_code == 400  # no CSRF token
    assert client.post("/audit/verify", json={"csrf_token": "x"}).status_code in (400, 415)
    assert client.post("/audit/verify", data={"csrf_token": "forged"}).status_code == 400
    eva = casework.test_client()
    log_in(casework, eva, enrol("eva", Role.REVIEWER, "etik"))
    assert eva.post("/audit/verify",
                    data={"csrf_token": csrf(eva, "/")}).status_code == 403
    assert verification.latest(services(casework).config) is None
    assert not [e for e in entries(casework)[before:]
                if e.action == "audit_verification_started"]


def test_a_tampered_or_broken_record_is_shown_safely(casework: Flask,
                                                     enrol: Callable[..., Staff]) -> None:
    client = _auditor(casework, enrol)
    config = services(casework).config
    path = config.instance_path / verification.STATE_FILE
    now = utcnow()
    evil = verification.Run(
        "e" * 32, verification.State.DONE, "x" * 32, now, now, 3, 3, now,
        verification.Outcome(False, 3, 1, 3, "00" * 32, None, None, 2,
                             "<script>alert(1)</script>"))
    verification._write(config, evil)
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    for broken in ("not json", "{}", '{"id": 1, "state": "bogus"}', "[]"):
        path.write_text(broken, encoding="utf-8")
        response = client.get("/audit/verify")
        assert response.status_code == 200 and 'id="verify-none"' in response.get_data(
            as_text=True), broken


def test_a_queue_that_cannot_be_reached_is_said_at_once(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    nowhere = tmp_path_factory.mktemp("redis") / "absent.sock"
    app = make_casework(redis_url=f"unix://{nowhere}")
    client = app.test_client()
    log_in(app, client, enrol("ulla", Role.AUDITOR, "kof"))
    run = _verify_now(client)
    assert run.state == "failed"
    assert 'id="verify-failed"' in client.get("/audit/verify").get_data(as_text=True)


def test_with_redis_the_run_is_queued_for_a_worker(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        redis_url: str) -> None:
    from redis import Redis
    from rq import Queue

    from casework.jobs import MAINTENANCE_QUEUE

    app = make_casework(redis_url=redis_url)
    client = app.test_client()
    log_in(app, client, enrol("ulla", Role.AUDITOR, "kof"))
    queue = Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()
    run = _verify_now(client)
    assert run.state == "running" and verification.wait(run.id, WAIT)  # no thread here
    jobs = queue.get_jobs()
    assert [(job.func_name, job.args) for job in jobs] == [
        ("casework.audit.verification.verify_job",
         (str(services(app).config.instance_path), run.id))]
    queue.empty()
