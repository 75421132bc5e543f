"""The named queues, the kinds of job on them, and the one way to queue a job.

Every background job of casework is a :class:`Kind`: a function taking the instance
folder (and perhaps an id), the queue it goes to, how long it may run and how it is
retried. :func:`enqueue` queues one on Redis (``redis_url``) or, without Redis, runs it
now in the calling process, as the embedded default always has.

Three queues, so that a slow purge or a four-hour audit check never holds up the bridge,
and machines can be given the work they are fit for (``jobs worker --queue ...``):

* ``lykta-bridge``: the bridge cycle, every ``bridge_interval_seconds``.
* ``lykta-mail``: deadline reminders (the only job that talks to a mail relay).
* ``lykta-maintenance``: retention purges, the session sweep, the audit check.

Retries with back-off are configured only where a second run is safe, and every job says
in its kind why it is. A job's arguments are the instance folder and an id, never
content; its description is the kind's name, so that rq's own records do not repeat the
folder either. A failure is recorded by its exception CLASS only (:func:`record_failure`),
which is all the failed-job page shows: a message or a traceback may name a case or a path.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis
    from rq.job import Job

log = logging.getLogger("lykta.casework.jobs")

BRIDGE_QUEUE = "lykta-bridge"
MAIL_QUEUE = "lykta-mail"
MAINTENANCE_QUEUE = "lykta-maintenance"
QUEUES = (BRIDGE_QUEUE, MAIL_QUEUE, MAINTENANCE_QUEUE)

# A failed job stays a week for an administrator to retry or discard (the failed-job
# page); a finished one's result an hour (the command line prints it).
FAILURE_TTL = 7 * 86_400
RESULT_TTL = 3600
# Where a job's failure class is kept (rq's job meta): the failed-job page reads only it.
FAILURE_META = "failure"


@dataclass(frozen=True)
class Kind:
    """One kind of background job."""

    name: str
    function: str  # dotted path: imported by the worker, never at import time here
    queue: str
    timeout: int  # seconds a run may take before the worker kills it
    # Seconds before each retry (rq's Retry intervals); empty: a failure is final.
    backoff: tuple[int, ...] = ()


# Why each is idempotent, and so why a retry (or two copies at once) is safe:
BRIDGE = Kind(
    # Import is idempotent (an envelope already imported is skipped, each item commits
    # on its own) and intake's acknowledgement follows the commit, so a cycle run twice,
    # or twice at once, delivers every envelope exactly once. Two quick retries cover a
    # blip on the sync link; a longer outage fails jobs and the next slot tries again.
    "bridge", "casework.jobs.work.sync_job", BRIDGE_QUEUE, 3600, (10, 30))
REMINDERS = Kind(
    # A reminder is recorded once per (case, kind, deadline): a run claims its rows before
    # sending (the primary key refuses a second claim), so a retry or a parallel run sends
    # only what nobody has claimed (casework/reminders.py).
    "reminders", "casework.reminders.reminders_job", MAIL_QUEUE, 1800, (60, 300, 900))
PURGE = Kind(
    # A purged case is marked purged in the same unit that deletes its envelopes: a
    # second run finds nothing due; two at once purge each case once (row locks,
    # tests/casework/test_retention_purge.py).
    "purge", "casework.retention_jobs.purge_job", MAINTENANCE_QUEUE, 3600, (300, 1800, 3600))
SWEEP = Kind(
    # Deletes only rows that have expired: a second run deletes nothing. Not retried: the
    # next hourly run is the retry.
    "sweep", "casework.jobs.work.sweep_job", MAINTENANCE_QUEUE, 600)
VERIFY = Kind(
    # Read-only: it reads the chain in short transactions and writes only its own run
    # record; a retry of a run that already ended returns "superseded" and reads nothing.
    "verify", "casework.audit.verification.verify_job", MAINTENANCE_QUEUE, 4 * 3600,
    (30, 120))
KINDS = {kind.name: kind for kind in (BRIDGE, REMINDERS, PURGE, SWEEP, VERIFY)}


def connect(redis_url: str) -> Redis:
    """A connection to the jobs' Redis (bounded waits: a dead Redis fails, never hangs)."""
    from redis import Redis

    return Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)


def function_of(kind: Kind) -> Callable[..., Any]:
    """The job's function, imported now (a module of casework, never user input)."""
    module, _, name = kind.function.rpartition(".")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


def enqueue(redis_url: str | None, kind: Kind, instance_path: Path, *args: str,
            job_id: str | None = None, ttl: int | None = None) -> str:
    """Queue one job of ``kind`` (returns its id), or run it now without Redis (returns
    its result as text, as the commands print it).

    ``job_id`` fixes the id (the scheduler's one id per slot); ``ttl``: seconds the job
    may wait in its queue before rq drops it (a periodic job the next slot replaces).
    """
    if not redis_url:
        return str(function_of(kind)(str(instance_path), *args))
    from rq import Callback, Queue, Retry

    queue = Queue(kind.queue, connection=connect(redis_url))
    retry = Retry(max=len(kind.backoff), interval=list(kind.backoff)) if kind.backoff else None
    job = queue.enqueue_call(
        kind.function, args=(str(instance_path), *args), timeout=kind.timeout,
        result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, ttl=ttl, retry=retry,
        job_id=job_id, description=kind.name,
        on_failure=Callback("casework.jobs.queues.record_failure"))
    return str(job.id)


def record_failure(job: Job, connection: Redis, exc_type: type[BaseException] | None,
                   value: BaseException | None, traceback: TracebackType | None) -> None:
    """rq's failure callback: keep the exception's class name, nothing of its message."""
    del connection, value, traceback  # a message or a trace may name a case or a path
    name = exc_type.__name__ if exc_type is not None else "Exception"
    job.meta[FAILURE_META] = name
    job.save_meta()  # type: ignore[no-untyped-call]
    log.warning("job %s (%s) failed: %s", job.id, job.description, name)
