"""The job system: named queues, jobs run by a real rq worker (``jobs worker --burst``),
the scheduler's leader lock and slots, and the in-process fallback without Redis.

Every job builds its app from the instance folder (casework.json there), as a worker on
another machine would; the worker here is the command itself, an rq Worker that forks a
work horse per job.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from casework.audit import verification
from casework.jobs import (
    BRIDGE_QUEUE,
    MAIL_QUEUE,
    MAINTENANCE_QUEUE,
    QUEUES,
    REMINDERS,
    SWEEP,
    enqueue,
)
from casework.jobs.schedule import LEADER_KEY, Scheduler, plan, slot_job_id
from casework.models import Role
from casework.retention_jobs import enqueue_purge
from tests.support.casework import Staff, csrf, log_in, services

from .retention_support import envelope_rows, make_case

WAIT = 30.0


@pytest.fixture
def jobs_redis(redis_url: str) -> Iterator[str]:
    """A Redis database of this module's own, empty at the start of each test."""
    url = f"{redis_url}?db=8"
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


def write_instance_json(app: Flask, **settings: object) -> Path:
    """The app's settings in its instance folder, where a job reads them."""
    config = services(app).config
    (config.instance_path / "casework.json").write_text(json.dumps({
        "database_url": config.database_url,
        "secret_key": base64.b64encode(config.secret_key).decode(),
        "argon2": {"t": 1, "m": 8, "p": 1}, **settings}))
    return config.instance_path


def work(app: Flask, *queues: str) -> str:
    """``flask --app casework jobs worker --burst``: run what is queued, then stop."""
    args = ["jobs", "worker", "--burst"]
    for queue in queues:
        args += ["--queue", queue]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


def fetch(url: str, job_id: str) -> Job:
    return Job.fetch(job_id, connection=Redis.from_url(url))


# --- queues and workers ---------------------------------------------------------------


def test_each_kind_goes_to_its_queue_with_its_retries(
        make_casework: Callable[..., Flask], jobs_redis: str) -> None:
    instance = write_instance_json(make_casework())
    connection = Redis.from_url(jobs_redis)
    assert QUEUES == ("lykta-bridge", "lykta-mail", "lykta-maintenance")
    reminders = fetch(jobs_redis, enqueue(jobs_redis, REMINDERS, instance))
    assert reminders.origin == MAIL_QUEUE and reminders.retries_left == 3
    assert reminders.retry_intervals == [60, 300, 900]
    # The description is the kind's name: rq's records do not repeat the folder.
    assert reminders.description == "reminders" and str(instance) not in reminders.description
    sweep = fetch(jobs_redis, enqueue(jobs_redis, SWEEP, instance))
    assert sweep.origin == MAINTENANCE_QUEUE and not sweep.retries_left  # hourly anyway
    assert [Queue(q, connection=connection).count for q in QUEUES] == [0, 1, 1]


def test_a_worker_needs_redis_and_says_so(casework: Flask) -> None:
    result = casework.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "redis_url" in result.output


def test_the_purge_and_the_audit_check_run_through_a_real_worker(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis)
    instance = write_instance_json(app)
    due = make_case(app, concluded_days_ago=800, items=2)
    purge_id = enqueue_purge(jobs_redis, instance)
    client = app.test_client()
    log_in(app, client, enrol("ulla", Role.AUDITOR, "kof"))
    response = client.post("/audit/verify", data={"csrf_token": csrf(client, "/audit/verify")})
    assert response.status_code == 303
    run = verification.latest(services(app).config)
    assert run is not None and run.running
    assert Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(jobs_redis)).count == 2

    work(app, MAINTENANCE_QUEUE)

    purge = fetch(jobs_redis, purge_id)
    assert purge.get_status() == JobStatus.FINISHED
    assert purge.return_value() == {"purged": [due.reference], "envelopes": 2,
                                    "refused": []}
    assert envelope_rows(app, due.case_id) == []
    done = verification.latest(services(app).config)
    assert done is not None and done.id == run.id and done.state == "done"
    assert done.outcome is not None and done.outcome.ok  # the purge's entries included


# --- the scheduler --------------------------------------------------------------------


def test_two_schedulers_queue_each_slot_once(make_casework: Callable[..., Flask],
                                             jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis, bridge_interval_seconds=60)
    config = services(app).config
    now = [1_900_000_000.0]  # one moment for both: the same slots
    first = Scheduler(config, clock=lambda: now[0])
    second = Scheduler(config, clock=lambda: now[0])
    connection = Redis.from_url(jobs_redis)

    def counts() -> list[int]:
        return [Queue(q, connection=connection).count for q in QUEUES]

    # Both tick at the same instant, from two threads: one leads, one queues nothing.
    barrier = threading.Barrier(2)
    ticks: dict[str, list[str]] = {}

    def tick(name: str, scheduler: Scheduler) -> None:
        barrier.wait(WAIT)
        ticks[name] = [q.kind for q in scheduler.tick()]

    threads = [threading.Thread(target=tick, args=(n, s))
               for n, s in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(ticks.values()) == [[], ["bridge", "reminders", "sweep", "purge"]]
    assert counts() == [1, 1, 2]  # bridge; reminders; sweep and purge
    leader, follower = (first, second) if ticks["first"] else (second, first)
    bridge_slot = int(now[0] // 60)
    assert Queue(BRIDGE_QUEUE, connection=connection).job_ids == [
        slot_job_id(plan(config)[0].kind, bridge_slot)]

    # The leader stops cleanly (releases the lock): the other takes over, but the slots
    # already queued stay queued once.
    leader.release()
    assert follower.tick() == [] and connection.get(LEADER_KEY) == follower.token.encode()
    assert counts() == [1, 1, 2]
    # The next bridge slot: only the bridge is due, queued once by the new leader.
    now[0] += 60
    assert [q.kind for q in follower.tick()] == ["bridge"] and leader.tick() == []
    assert counts() == [2, 1, 2]
    # A leader that paused past its lease and ticks again still cannot queue a slot twice.
    connection.delete(LEADER_KEY)
    assert leader.tick() == [] and counts() == [2, 1, 2]


def test_a_dead_leaders_lock_runs_out(make_casework: Callable[..., Flask],
                                      jobs_redis: str) -> None:
    config = services(make_casework(redis_url=jobs_redis)).config
    leader, other = Scheduler(config), Scheduler(config)
    assert leader.lead() and not other.lead()
    ttl = Redis.from_url(jobs_redis).pttl(LEADER_KEY)
    assert 0 < ttl <= 30_000  # renewed at every tick, gone 30 s after the last
    Redis.from_url(jobs_redis).pexpire(LEADER_KEY, 1)  # as if 30 s had passed
    other_led = False
    for _ in range(200):
        if other.lead():
            other_led = True
            break
    assert other_led and not leader.lead()


def test_without_redis_the_schedule_runs_the_jobs_in_process(
        make_casework: Callable[..., Flask]) -> None:
    app = make_casework()
    write_instance_json(app)
    due = make_case(app, concluded_days_ago=800, items=1)
    result = app.test_cli_runner().invoke(args=["jobs", "schedule", "--once"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "no redis_url: the jobs run in this process"
    by_kind = {line.split(" ", 1)[0]: line for line in lines[1:]}
    assert set(by_kind) == {"bridge", "reminders", "sweep", "purge"}
    assert "failed: BridgeError" in by_kind["bridge"]  # no intake_sync_url configured
    assert "'enabled': False" in by_kind["reminders"]  # no smtp_host
    assert "'sessions': 0" in by_kind["sweep"]
    assert f"'purged': ['{due.reference}']" in by_kind["purge"]
    assert envelope_rows(app, due.case_id) == []


def test_a_systemd_instance_names_the_queues() -> None:
    from casework.jobs.cli import parse_queues

    assert parse_queues("bridge") == [BRIDGE_QUEUE]
    assert parse_queues("bridge:mail") == [BRIDGE_QUEUE, MAIL_QUEUE]
    assert parse_queues("lykta-maintenance,mail") == [MAINTENANCE_QUEUE, MAIL_QUEUE]
    assert parse_queues("2") == [] and parse_queues("") == []  # all of them
    with pytest.raises(ValueError, match="no queue 'email'"):
        parse_queues("bridge:email")
