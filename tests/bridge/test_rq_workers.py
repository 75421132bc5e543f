"""Bridge cycles as rq jobs on the named queue, for real: two worker PROCESSES
(``flask --app casework jobs worker``) running cycles at the same moment on one Redis
and one PostgreSQL database deliver every envelope exactly once; and a cycle that fails
is retried after its back-off and then delivers.

Intake (its public app for the submissions, its sync app on loopback) runs in this
process; casework's workers are separate processes that build their app from the
instance folder, as on a production machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.worker import WorkerStatus
from sqlalchemy import create_engine, text

import crypto
from casework.jobs import BRIDGE_QUEUE, enqueue_sync
from common.serve import build_server
from intake import IntakeConfig
from intake import create_app as create_intake
from intake.bridge.sync import create_app as create_sync
from tests.intake.conftest import submit
from tests.support.instance import write_instance

from .conftest import Bridged
from .test_bridge import _counts
from .test_rq import write_casework_json

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0
REPORTS = 8


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


@pytest.fixture
def bridge_redis(redis_url: str) -> Iterator[str]:
    url = f"{redis_url}?db=9"
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


def _ran(job: Job) -> tuple[dt.datetime, dt.datetime]:
    """When a finished job started and ended (its result is written as it ends)."""
    result = job.latest_result()
    assert job.started_at is not None and result is not None
    return job.started_at, result.created_at


class _MeetFirst:
    """WSGI middleware: the first two requests wait for each other before either is served.

    A bridge cycle's first request blocks until the other cycle's first request arrives,
    so neither cycle can finish before the other has started, and the job that is not
    blocked must be taken by the other worker. Without it, a worker that finished one cycle
    quickly could take the second job too (CI saw it once), and the cycles never raced.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.arrived = 0
        self.lock = threading.Lock()
        self.meeting = threading.Barrier(2, timeout=WAIT)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.lock:
            self.arrived += 1
            first_two = self.arrived <= 2
        if first_two:
            self.meeting.wait()  # BrokenBarrierError after WAIT: the test fails, no hang
        return self.app(environ, start_response)


def _finished(connection: Redis, job_id: str) -> Job | None:
    job = Job.fetch(job_id, connection=connection)
    return job if job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED) else None


def test_two_worker_processes_deliver_every_envelope_exactly_once(
        tmp_path: Path, postgres_url: str, bridge_redis: str) -> None:
    root = tmp_path / "instance"
    write_instance(root, crypto.INSECURE_FAST,
                   casework={"redis_url": bridge_redis, "database_url": postgres_url},
                   intake={"login_floor_seconds": 0})
    intake_config = IntakeConfig.from_instance(root)
    sync_app = create_sync(intake_config)
    sync_app.wsgi_app = _MeetFirst(sync_app.wsgi_app)  # type: ignore[method-assign]
    sync = build_server(sync_app, "127.0.0.1", 0)
    threading.Thread(target=sync.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    settings = json.loads((root / "casework.json").read_text())
    settings["intake_sync_url"] = f"http://127.0.0.1:{sync.server_port}"
    (root / "casework.json").write_text(json.dumps(settings))

    redis = Redis.from_url(bridge_redis)
    queue = Queue(BRIDGE_QUEUE, connection=redis)
    logs = [(tmp_path / f"worker-{n}.log").open("wb") for n in range(2)]
    workers = [subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "casework", "jobs", "worker",
         "--queue", BRIDGE_QUEUE, "--name", f"worker-{n}"],
        cwd=REPO, env={**os.environ, "LYKTA_INSTANCE": str(root)},
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        for n, log in enumerate(logs)]
    intake_db = create_engine(intake_config.database_url)
    try:
        # The reports, while the workers start.
        tipster = create_intake(intake_config).test_client()
        for index in range(REPORTS):
            submit(tipster, what=f"Report {index} for two workers")
        with intake_db.connect() as connection:
            expected = sorted(connection.scalars(text(
                "SELECT id FROM envelopes WHERE audience = 'casework'")))
        assert len(expected) == REPORTS
        # Both idle, waiting on the queue; the sync app holds each cycle's first request
        # until the other's arrives, so the two cycles overlap on two workers.
        wait_for("two idle workers", lambda: [w.get_state() for w in Worker.all(
            queue=queue)] == [WorkerStatus.IDLE] * 2)
        first, second = enqueue_sync(bridge_redis, root), enqueue_sync(bridge_redis, root)
        jobs: list[Job] = [wait_for(f"job {j}", partial(_finished, redis, j))
                           for j in (first, second)]
        for job in jobs:
            for r in job.results():
                print("RESULT", job.worker_name, r.type, r.exc_string)
            result = job.latest_result()
            assert job.get_status() == JobStatus.FINISHED, result and result.exc_string
        assert {job.worker_name for job in jobs} == {"worker-0", "worker-1"}
        (a_start, a_end), (b_start, b_end) = (_ran(job) for job in jobs)
        assert a_start < b_end and b_start < a_end, "the two cycles did not overlap"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)  # rq's warm shutdown
        for worker in workers:
            try:
                worker.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=WAIT)
        for log in logs:
            log.close()
        sync.shutdown()
    assert len(FailedJobRegistry(queue=queue)) == 0

    casework_db = create_engine(postgres_url)
    with casework_db.connect() as db:
        envelopes = db.execute(text(
            "SELECT id, case_id, kind FROM case_envelopes")).all()
        cases = db.execute(text("SELECT id, intake_receipt_id FROM cases")).all()
    casework_db.dispose()
    imported = sorted(i for i, _, kind in envelopes if kind in ("report", "file"))
    assert imported == expected  # every one, none twice
    assert len(cases) == REPORTS == len({receipt for _, receipt in cases})
    # Exactly one automatic acknowledgement per case, though two cycles raced to import.
    acknowledgements = Counter(case for _, case, kind in envelopes if kind == "message")
    assert sorted(acknowledgements) == sorted(c for c, _ in cases)
    assert set(acknowledgements.values()) == {1}
    with intake_db.connect() as connection:
        assert connection.scalar(text(
            "SELECT count(*) FROM envelopes WHERE audience = 'casework'")) == 0  # all acked
        # ...and at intake one acknowledgement per receipt, for the tipster.
        told = connection.scalars(text("SELECT receipt_id FROM envelopes "
                                       "WHERE audience = 'tipster' AND kind = 'message'")).all()
        assert len(told) == REPORTS == len(set(told))
    intake_db.dispose()


def test_a_failed_cycle_is_retried_after_its_back_off_and_delivers(
        bridged: Bridged, bridge_redis: str) -> None:
    # First the sync link is down (nothing listens on the discard port)...
    instance = write_casework_json(bridged, redis_url=bridge_redis,
                                   argon2={"t": 1, "m": 8, "p": 1},
                                   intake_sync_url="http://127.0.0.1:9")
    submit(bridged.linked.intake.test_client(), category="ethics")
    connection = Redis.from_url(bridge_redis)
    queue = Queue(BRIDGE_QUEUE, connection=connection)
    job_id = enqueue_sync(bridge_redis, instance)
    job = Job.fetch(job_id, connection=connection)
    assert job.retries_left == 2 and job.retry_intervals == [10, 30]

    before = dt.datetime.now(dt.UTC)
    SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)
    after = dt.datetime.now(dt.UTC)
    job.refresh()  # type: ignore[no-untyped-call]
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 1
    assert job.meta["failure"] == "BridgeError"
    registry = queue.scheduled_job_registry
    assert registry.get_job_ids() == [job_id]
    due = registry.get_scheduled_time(job_id)
    back_off = dt.timedelta(seconds=10)
    # 10 s after it failed (rq keeps the time to the second).
    assert before.replace(microsecond=0) + back_off <= due <= after + back_off
    assert _counts(bridged)[1] == 0  # nothing imported
    assert job_id not in FailedJobRegistry(queue=queue)

    # ...then it is back. Rather than wait the ten seconds, the retry is made due now;
    # the worker's scheduler puts it on the queue and the worker runs it.
    write_casework_json(bridged, redis_url=bridge_redis, argon2={"t": 1, "m": 8, "p": 1})
    registry.schedule(job, dt.datetime.now(dt.UTC))
    SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)
    job.refresh()  # type: ignore[no-untyped-call]
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"imported": 1, "acknowledged": 1, "pushed": 1}
    assert _counts(bridged) == (0, 2, 1)
