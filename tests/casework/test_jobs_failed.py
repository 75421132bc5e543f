"""The failed-job page (/admin/jobs/): a real job failed by a real worker is listed by its
exception's class only, and an administrator retries or discards it (audited first:
Redis changes only after the entry commits, and two clicks at once retry it once).

The job that fails is the session sweep, built from an instance folder whose casework.json
holds a setting no casework knows, named after a secret: the ConfigError's message names
it. The page must show "ConfigError" and never that name, the folder or a traceback.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from casework.jobs import MAINTENANCE_QUEUE, SWEEP, enqueue
from casework.jobs.failures import CLAIM_PREFIX, UnknownJob, discard_job, retry_job
from casework.models import AuditEntry, Role, User
from tests.support.casework import Staff, csrf, log_in, services

from .test_jobs import work

SECRET = "hemlig_arendeuppgift_4711"  # as if a message carried a case's detail


@pytest.fixture
def jobs_redis(redis_url: str) -> Iterator[str]:
    url = f"{redis_url}?db=10"
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


def failing_job(app: Flask, url: str) -> str:
    """Queue a sweep for an instance folder no app can start from; run it to failure.

    (Another folder than the app's: the worker runs its own folder's jobs with the app it
    built at start, and that one works.)"""
    instance = services(app).config.instance_path / "elsewhere"
    instance.mkdir()
    (instance / "casework.json").write_text(json.dumps({SECRET: "x"}))
    job_id = enqueue(url, SWEEP, instance)
    work(app, MAINTENANCE_QUEUE)
    return job_id


def registry(url: str) -> FailedJobRegistry:
    return FailedJobRegistry(queue=Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(url)))


def actions(app: Flask) -> list[tuple[str, dict[str, object]]]:
    with services(app).db.session() as db:
        rows = db.execute(select(AuditEntry.action, AuditEntry.details).where(
            AuditEntry.action.like("failed_job_%")).order_by(AuditEntry.seq))
        return [(action, json.loads(details) if isinstance(details, str) else details)
                for action, details in rows]


def admin_client(app: Flask, enrol: Callable[..., Staff]) -> FlaskClient:
    client = app.test_client()
    log_in(app, client, enrol("adam", Role.ADMINISTRATOR, "kof"))
    return client


def test_a_failed_job_is_listed_by_class_retried_and_discarded(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis)
    client = admin_client(app, enrol)
    job_id = failing_job(app, jobs_redis)
    job = Job.fetch(job_id, connection=Redis.from_url(jobs_redis))
    assert job_id in registry(jobs_redis), (job.get_status(), job.latest_result())

    page = client.get("/admin/jobs/").get_data(as_text=True)
    row = re.search(rf'<tr id="job-{job_id}">(.*?)</tr>', page, re.S)
    assert row, page
    assert "sweep_job" in row.group(1) and "<code>ConfigError</code>" in row.group(1)
    assert 'id="queue-lykta-maintenance"' in page and "lykta-bridge" in page
    instance = str(services(app).config.instance_path)
    for hidden in (SECRET, instance, "elsewhere", "Traceback", "unknown setting"):
        assert hidden not in page, hidden
    assert 'href="/admin/jobs/"' in page  # linked from the administrator's menu

    # Without its form's token: 400, nothing changed.
    assert client.post(f"/admin/jobs/{job_id}/retry").status_code == 400
    assert client.post(f"/admin/jobs/{job_id}/discard", data={}).status_code == 400
    assert job_id in registry(jobs_redis) and actions(app) == []

    token = csrf(client, "/admin/jobs/")
    response = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/jobs/"
    assert job_id not in registry(jobs_redis)
    assert Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(jobs_redis)).job_ids == [job_id]
    assert actions(app) == [("failed_job_retried",
                             {"job_id": job_id, "queue": MAINTENANCE_QUEUE})]
    work(app, MAINTENANCE_QUEUE)  # it fails again: back on the list
    assert job_id in registry(jobs_redis)

    response = client.post(f"/admin/jobs/{job_id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    assert job_id not in registry(jobs_redis)
    assert not Job.exists(job_id, connection=Redis.from_url(jobs_redis))
    assert [a for a, _ in actions(app)] == ["failed_job_retried", "failed_job_discarded"]
    assert 'id="job-' not in client.get("/admin/jobs/").get_data(as_text=True)
    # Done once, it is unknown now.
    assert client.post(f"/admin/jobs/{job_id}/retry",
                       data={"csrf_token": token}).status_code == 404


# The shape of a job id, but no failed job has it; then ids of no shape rq or the
# scheduler gives: refused before Redis is asked, never a 500. (A NUL in the path is
# refused earlier, 400, by the request guard of every route.)
UNKNOWN = ["0" * 32, "3f2b8c1e-0000-4000-8000-000000000000", "not-a-job", "A" * 32,
           "0" * 33, "..%2F..%2Fetc", "x" * 300, "%C3%A5" * 16]


def test_an_unknown_or_malformed_id_is_404(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis)
    client = admin_client(app, enrol)
    token = csrf(client, "/admin/jobs/")
    for job_id in UNKNOWN:
        for action in ("retry", "discard"):
            response = client.post(f"/admin/jobs/{job_id}/{action}",
                                   data={"csrf_token": token})
            assert response.status_code == 404, (action, job_id)
    assert actions(app) == []


def test_without_redis_the_page_says_jobs_run_in_process(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = admin_client(casework, enrol)
    response = client.get("/admin/jobs/")
    assert response.status_code == 200
    assert 'id="jobs-in-process"' in response.get_data(as_text=True)
    token = csrf(client, "/admin/jobs/")
    assert client.post(f"/admin/jobs/{'0' * 32}/retry",
                       data={"csrf_token": token}).status_code == 404


# --- the audit entry comes first --------------------------------------------------------

def claims(url: str) -> list[bytes]:
    return list(Redis.from_url(url).scan_iter(f"{CLAIM_PREFIX}*"))


def queued(url: str) -> list[str]:
    return Queue(MAINTENANCE_QUEUE, connection=Redis.from_url(url)).job_ids


def test_a_commit_that_fails_leaves_redis_as_it_was(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        jobs_redis: str) -> None:
    """Redis changes only once the entry is committed: a failed commit changes nothing."""
    app = make_casework(redis_url=jobs_redis)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the error page, as a browser gets it
    client = admin_client(app, enrol)
    job_id = failing_job(app, jobs_redis)
    token = csrf(client, "/admin/jobs/")
    before = Job.fetch(job_id, connection=Redis.from_url(jobs_redis)).to_dict()

    def refuse(_connection: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error (injected)"))

    engine = services(app).db.engine
    event.listen(engine, "commit", refuse)
    try:
        for action in ("retry", "discard"):
            response = client.post(f"/admin/jobs/{job_id}/{action}",
                                   data={"csrf_token": token})
            assert response.status_code == 500, action
            assert job_id in registry(jobs_redis) and queued(jobs_redis) == []
            assert Job.fetch(job_id, connection=Redis.from_url(jobs_redis)).to_dict() == before
            assert claims(jobs_redis) == []  # given back by the rollback, not left to expire
    finally:
        event.remove(engine, "commit", refuse)
    assert actions(app) == []

    # The administrator clicks again at once, and now it happens, recorded.
    response = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert queued(jobs_redis) == [job_id] and claims(jobs_redis) == []
    assert [a for a, _ in actions(app)] == ["failed_job_retried"]


def test_two_retries_of_one_job_at_once_retry_it_once(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff],
        jobs_redis: str) -> None:
    app = make_casework(redis_url=jobs_redis)
    adam, beda = enrol("adam", Role.ADMINISTRATOR, "kof"), enrol("beda", Role.ADMINISTRATOR,
                                                                 "kof")
    job_id = failing_job(app, jobs_redis)
    with services(app).db.session() as db:
        adam_id = db.scalar(select(User.id).where(User.username == "adam"))
    assert adam_id is not None

    # Interleaved by hand: the first has claimed the job but not committed when the second
    # asks; the second is told the job is gone and records nothing.
    with services(app).unit() as first:
        assert retry_job(first.session, jobs_redis, adam_id, job_id) == MAINTENANCE_QUEUE
        with pytest.raises(UnknownJob), services(app).unit() as second:
            discard_job(second.session, jobs_redis, adam_id, job_id)
        assert job_id in registry(jobs_redis) and queued(jobs_redis) == []  # not yet
    assert queued(jobs_redis) == [job_id] and claims(jobs_redis) == []
    assert actions(app) == [("failed_job_retried",
                             {"job_id": job_id, "queue": MAINTENANCE_QUEUE})]

    # Over HTTP: it fails again, then two administrators click Retry at the same moment.
    work(app, MAINTENANCE_QUEUE)
    assert job_id in registry(jobs_redis)
    clients = []
    for staff in (adam, beda):
        client = app.test_client()
        log_in(app, client, staff)
        clients.append((client, csrf(client, "/admin/jobs/")))
    start = threading.Barrier(2)
    statuses: list[int] = []

    def click(client: FlaskClient, token: str) -> None:
        start.wait(timeout=10)
        statuses.append(client.post(f"/admin/jobs/{job_id}/retry",
                                    data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=click, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [302, 404]
    assert queued(jobs_redis) == [job_id] and claims(jobs_redis) == []
    assert [a for a, _ in actions(app)] == ["failed_job_retried", "failed_job_retried"]
