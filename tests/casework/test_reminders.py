"""Reminder e-mails about the legal deadlines, received by a real SMTP server (aiosmtpd):
who gets one (assignees and unit leads who read the case, with an address, active), what
it says (counts and filtered links, no case content), once per deadline (a second run and
a concurrent run send nothing more), failures (nothing recorded, tried again), an
extension's new deadline, the rq job on a real Redis, and the command line."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from casework.accounts import create_user
from casework.deadlines import Due, due_reminders
from casework.jobs import MAIL_QUEUE
from casework.models import AuditEntry, ReminderKind, ReminderSent, Role, Stage, User
from casework.reminders import ReminderRun, _claim, enqueue_reminders, send_reminders

from .conftest import services
from .deadlines_support import Built, Mailbox, build, days_ago, free_port, mailbox, set_email

__all__ = ["mailbox"]  # the fixture, imported for pytest

URL = "https://lykta.example.se"
STAFF = {
    # name: (unit, role, e-mail)
    "lars": ("etik", Role.UNIT_LEAD, "lars@myndighet.example.se"),
    "olle": ("etik", Role.UNIT_LEAD, None),  # a lead without an address: not told
    "ulla": ("etik", Role.UNIT_LEAD, "ulla@myndighet.example.se"),  # closed account
    "eva": ("etik", Role.REVIEWER, "eva@myndighet.example.se"),
    "erik": ("etik", Role.REVIEWER, "erik@myndighet.example.se"),
    "lena": ("akt", Role.UNIT_LEAD, "lena@myndighet.example.se"),
    "anna": ("akt", Role.REVIEWER, "anna@myndighet.example.se"),  # neither assigned nor lead
}
READERS = ("lars", "olle", "ulla", "eva", "erik")


def _app(make_casework: Callable[..., Flask], port: int, **more: object) -> Flask:
    app = make_casework(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                        public_url=URL + "/", mail_from="lykta@myndighet.example.se", **more)
    config = services(app).config
    with services(app).db.session() as db:
        for name, (unit, role, address) in STAFF.items():
            user, _ = create_user(db, config, username=name, display_name=name.title(),
                                  unit_id=unit, role=role, email=address)
            user.active = name != "ulla"
    return app


def _run(app: Flask, **options: bool) -> ReminderRun:
    with app.app_context():
        return send_reminders(services(app), **options)


def _recorded(app: Flask) -> set[tuple[str, str, object]]:
    with services(app).db.session() as db:
        return {(r.case_id, r.kind, r.deadline) for r in db.scalars(select(ReminderSent))}


def _audit(app: Flask, action: str) -> list[dict[str, object]]:
    with services(app).db.session() as db:
        return [json.loads(e.details) for e in db.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def _world(app: Flask) -> dict[str, Built]:
    cases = {
        # due soon / overdue, acknowledgement (7 days) and feedback (3 months)
        "ack_soon": Built("etik", days_ago(6), readers=READERS, assigned=("eva",)),
        "ack_late": Built("etik", days_ago(10), readers=READERS),
        "fb_soon": Built("etik", days_ago(80), Stage.INVESTIGATING.value, acknowledged=True,
                         readers=READERS, assigned=("erik",)),
        "fb_late": Built("etik", days_ago(100), Stage.INVESTIGATING.value,
                         acknowledged=True, readers=READERS, assigned=("erik",)),
        # not due: too early, concluded, feedback given
        "fresh": Built("etik", days_ago(3), readers=READERS, assigned=("eva",)),
        "done": Built("etik", days_ago(120), Stage.CONCLUDED.value, acknowledged=True,
                      readers=READERS),
        "answered": Built("etik", days_ago(120), Stage.INVESTIGATING.value,
                          acknowledged=True, feedback=True, readers=READERS),
        # due, but lars was left out by the tipster and eva declared a conflict
        "excluded": Built("etik", days_ago(20), readers=("eva", "erik"),
                          assigned=("eva",), conflict=("eva",)),
        # another unit's
        "akt_late": Built("akt", days_ago(9), readers=("lena", "anna")),
    }
    build(app, *cases.values())
    return cases


def test_each_person_gets_one_message_with_counts_and_links_only(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    cases = _world(app)
    run = _run(app)
    assert run.enabled and run.failed == 0
    # One message per person: leads of the unit and the assignees who read the case.
    assert mailbox.recipients == sorted(
        f"{n}@myndighet.example.se" for n in ("lars", "eva", "erik", "lena"))
    (lars,) = mailbox.to("lars@myndighet.example.se")
    assert "1 case is past its 7-day acknowledgement deadline." in lars
    assert "1 case needs its receipt acknowledged within 2 days." in lars
    assert "1 case needs feedback to the reporter within 14 days." in lars
    assert "1 case is past its feedback deadline." in lars
    for link in ("/cases/?overdue=acknowledgement", "/cases/?overdue=feedback",
                 "/cases/?stage=received&sort=oldest", "/cases/?sort=oldest"):
        assert f"{URL}{link}\n" in lars
    (eva,) = mailbox.to("eva@myndighet.example.se")
    assert "1 case needs its receipt acknowledged within 2 days." in eva
    assert "past" not in eva and "feedback" not in eva  # nothing of the excluded case
    (erik,) = mailbox.to("erik@myndighet.example.se")
    assert "1 case is past its 7-day" not in erik  # assigned to fb_soon and fb_late only
    assert "1 case is past its feedback deadline." in erik
    (lena,) = mailbox.to("lena@myndighet.example.se")
    assert "1 case is past its 7-day acknowledgement deadline." in lena
    # No case content, no reference, no id: counts and links only.
    for _, message in mailbox.received:
        text = message.as_string()
        for case in cases.values():
            assert case.reference not in text and case.id not in text
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["From"] == "lykta@myndighet.example.se"
    due = {"ack_soon", "ack_late", "fb_soon", "fb_late", "excluded", "akt_late"}
    # "excluded" is due, but the one reader told of it (erik, not assigned) is no lead:
    # only eva was assigned, and she declared a conflict. Nobody is told; nothing recorded.
    assert {c for c, _, _ in _recorded(app)} == {cases[n].id for n in due - {"excluded"}}
    assert run.unreachable == 1
    assert _audit(app, "reminders_sent") == [{"messages": 4, "cases": 5, "failed": 0}]


def test_a_second_run_and_a_concurrent_run_send_nothing_more(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    _world(app)
    results: list[ReminderRun] = []
    threads = [threading.Thread(target=lambda: results.append(_run(app))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(mailbox.received) == 4  # each person once, whichever run sent it
    assert sum(r.messages for r in results) == 4
    recorded = _recorded(app)
    assert _run(app).messages == 0
    assert len(mailbox.received) == 4 and _recorded(app) == recorded
    assert len(_audit(app, "reminders_sent")) == 1  # an empty run is not audited


def test_a_reminder_claimed_by_another_run_is_left_to_it(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    (case,) = build(app, Built("etik", days_ago(10), readers=READERS))
    first = Due(case.id, "etik", ReminderKind.ACKNOWLEDGE_OVERDUE, days_ago(3))
    other = Due(case.id, "etik", ReminderKind.ACKNOWLEDGE_SOON, days_ago(3))
    with services(app).unit() as work:  # the other run's claim, committed
        work.session.add(ReminderSent(case_id=case.id, kind=first.kind.value,
                                      deadline=first.deadline))
    with services(app).unit() as work:  # the primary key refuses ours: skipped, not fatal
        assert _claim(work.session, [first, other]) == {other.key}
    assert len(_recorded(app)) == 2


def test_an_extension_moves_the_deadline_and_allows_a_new_reminder(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    (case,) = build(app, Built("etik", days_ago(176), Stage.INVESTIGATING.value,
                               acknowledged=True, extended=True, readers=("lars",)))
    with services(app).db.session() as db:  # reminded of the three-month deadline back then
        db.add(ReminderSent(case_id=case.id, kind=ReminderKind.FEEDBACK_OVERDUE.value,
                            deadline=days_ago(86)))
        db.add(ReminderSent(case_id=case.id, kind=ReminderKind.FEEDBACK_SOON.value,
                            deadline=days_ago(86)))
    assert _run(app).messages == 1
    (lars,) = mailbox.to("lars@myndighet.example.se")
    assert "1 case needs feedback to the reporter within 14 days." in lars
    assert (case.id, ReminderKind.FEEDBACK_SOON.value, days_ago(176 - 182)) in _recorded(app)
    with services(app).db.session() as db:
        # Past the six months: the overdue reminder of the new deadline, though the old
        # one was sent (its row names the old deadline).
        due = due_reminders(db, days_ago(-10), acknowledge_days=2, feedback_days=14)
    assert [(d.kind, d.deadline) for d in due] == [
        (ReminderKind.FEEDBACK_OVERDUE, days_ago(176 - 182))]


def test_smtp_down_records_nothing_and_the_next_run_sends(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, free_port())  # nothing listens there
    _world(app)
    run = _run(app)
    assert (run.messages, run.failed) == (0, 4)
    assert _recorded(app) == set()
    assert _audit(app, "reminders_sent") == [{"messages": 0, "cases": 0, "failed": 4}]
    # The same database, the server back: everything is sent now.
    moved = make_casework(smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False,
                          public_url=URL)
    assert _run(moved).messages == 4
    assert len(mailbox.received) == 4


def test_a_refused_recipient_is_tried_again_and_the_others_are_recorded(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    cases = _world(app)
    mailbox.refuse.add("lena@myndighet.example.se")
    run = _run(app)
    assert (run.messages, run.failed) == (3, 1)
    assert cases["akt_late"].id not in {c for c, _, _ in _recorded(app)}
    mailbox.refuse.clear()
    again = _run(app)
    assert (again.messages, again.cases) == (1, 1)
    assert mailbox.to("lena@myndighet.example.se")


def test_starttls_required_but_not_offered_sends_nothing_in_the_clear(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    _world(app)
    strict = make_casework(smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=True,
                           smtp_username="lykta")
    assert _run(strict).failed == 4
    assert mailbox.received == [] and _recorded(strict) == set()


def test_without_smtp_host_reminders_are_off(make_casework: Callable[..., Flask]) -> None:
    app = make_casework()
    build(app, Built("etik", days_ago(30)))
    run = _run(app)
    assert not run.enabled
    assert _recorded(app) == set()
    result = app.test_cli_runner().invoke(args=["deadlines", "remind"])
    assert result.exit_code == 0 and "Reminders are off" in result.output


def test_the_command_line_dry_run_counts_and_sends_nothing(
        make_casework: Callable[..., Flask], mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    _world(app)
    dry = app.test_cli_runner().invoke(args=["deadlines", "remind", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would send 4 e-mails" in dry.output and "1 due deadlines have no one" in dry.output
    assert mailbox.received == [] and _recorded(app) == set()
    sent = app.test_cli_runner().invoke(args=["deadlines", "remind"])
    assert "sent 4 e-mails about 5 cases; 0 failed" in sent.output
    assert len(mailbox.received) == 4


def _instance(app: Flask, **settings: object) -> Path:
    config = services(app).config
    (config.instance_path / "casework.json").write_text(json.dumps({
        "database_url": config.database_url,
        "secret_key": base64.b64encode(config.secret_key).decode(),
        "argon2": {"t": 1, "m": 8, "p": 1},
        "smtp_host": "127.0.0.1", "smtp_port": config.smtp_port, "smtp_starttls": False,
        "public_url": URL, **settings}))
    return config.instance_path


def test_an_rq_worker_runs_the_reminders(make_casework: Callable[..., Flask],
                                         mailbox: Mailbox, redis_url: str) -> None:
    app = _app(make_casework, mailbox.port)
    _world(app)
    instance = _instance(app, redis_url=redis_url)
    job_id = enqueue_reminders(redis_url, instance)
    connection = Redis.from_url(redis_url)
    queue = Queue(MAIL_QUEUE, connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=True)
    job = queue.fetch_job(job_id)
    assert job is not None and job.is_finished, job and job.exc_info
    result = job.return_value()
    assert result is not None and result["messages"] == 4
    assert len(mailbox.received) == 4
    # Without Redis (the test app has none) the schedule runs it in process: nothing is
    # due any more.
    scheduled = app.test_cli_runner().invoke(
        args=["deadlines", "schedule", "--every", "0", "--count", "1"])
    assert scheduled.exit_code == 0 and "'messages': 0" in scheduled.output, scheduled.output
    assert len(mailbox.received) == 4


def test_the_password_is_read_from_its_file_and_never_logged(
        make_casework: Callable[..., Flask], mailbox: Mailbox, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    secret = "hemligt-l0senord"
    (tmp_path / "smtp-password").write_text(secret + "\n")
    app = _app(make_casework, mailbox.port)
    _world(app)
    strict = make_casework(smtp_host="127.0.0.1", smtp_port=mailbox.port,
                           smtp_starttls=False, smtp_username="lykta",
                           smtp_password_path=tmp_path / "smtp-password")
    with caplog.at_level("DEBUG"):
        run = _run(strict)
    # Login without STARTTLS is refused before the password is sent anywhere.
    assert run.failed == 4 and mailbox.received == []
    assert secret not in caplog.text


def test_only_active_people_with_an_address_count(make_casework: Callable[..., Flask],
                                                  mailbox: Mailbox) -> None:
    app = _app(make_casework, mailbox.port)
    build(app, Built("etik", days_ago(10), readers=READERS))
    set_email(app, lars=None)
    run = _run(app)
    # olle has no address, ulla's account is closed, lars's address was cleared.
    assert (run.messages, run.unreachable) == (0, 1)
    with services(app).db.session() as db:
        assert db.scalar(select(func.count()).select_from(User)
                         .where(User.email.is_not(None))) == 5
