"""Failed jobs, for administrators: listed, retried, discarded (/admin/jobs/).

What is shown of a failed job: its id, queue, the function's short name, when it failed
and the CLASS of its exception (kept by :func:`casework.jobs.queues.record_failure`).
Never its arguments (an instance folder, a run id), its traceback or the exception's
message: rq keeps those in Redis, but a message can name a case, a person's account or a
path, and the page is for seeing THAT something failed and where, not for debugging
(the worker's log and Redis itself are, for the few who may read them).

Retrying and discarding are administrators' actions on shared state, so both are audit
events (:class:`~casework.events.FailedJobRetried`, ``FailedJobDiscarded``), emitted on
the request's unit. The change in Redis happens before that unit commits: if the commit
failed afterwards, a job would be re-queued (or dropped) without its entry. Every job is
idempotent (:mod:`.queues`), so the worst case is an unrecorded extra run or a failure
that is no longer listed; it never loses or doubles data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from common.unit_of_work import emit_on

from ..errors import CaseworkError
from ..events import FailedJobDiscarded, FailedJobRetried
from .queues import FAILURE_META, QUEUES, connect

if TYPE_CHECKING:
    from redis import Redis
    from rq.registry import FailedJobRegistry

# The ids rq and the scheduler give jobs: a uuid (rq's default) or 32 hex characters (the
# scheduler's one id per slot). Anything else is no job of ours: a 404 before Redis is
# asked anything.
JOB_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The newest this many per queue are listed (with the total): a bridge that has failed
# every minute for a day fills a registry, and the page must stay small.
LIMIT = 50


class UnknownJob(CaseworkError):
    """No failed job has this id (retried or discarded meanwhile, expired, never was)."""

    status = 404
    title = _l("No such failed job")
    explanation = _l("The job is not among the failed jobs: it may have been retried or "
                     "discarded meanwhile. Go back to the list.")


class JobsUnavailable(CaseworkError):
    """Redis did not answer."""

    status = 503
    title = _l("Background jobs unavailable")
    explanation = _l("The job queue (Redis) did not answer. Nothing was changed; try again "
                     "in a while.")


@dataclass(frozen=True)
class FailedJob:
    """One failed job, as the page shows it."""

    id: str
    queue: str
    function: str  # the function's own name ("sync_job"), not its module or arguments
    failed_at: dt.datetime | None
    failure: str | None  # the exception's class; None: unknown (a worker that was killed)


@dataclass(frozen=True)
class QueueFailures:
    """A queue's failed jobs, newest first (at most :data:`LIMIT`), and how many in all."""

    queue: str
    total: int
    jobs: tuple[FailedJob, ...]


def _registry(connection: Redis, name: str) -> FailedJobRegistry:
    from rq import Queue
    from rq.registry import FailedJobRegistry

    return FailedJobRegistry(queue=Queue(name, connection=connection))


def _short(function: str | None) -> str:
    return (function or "?").rpartition(".")[2]


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time to the second, as every casework page shows times."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _failure(meta: object) -> str | None:
    found = meta.get(FAILURE_META) if isinstance(meta, dict) else None
    return found if isinstance(found, str) and found.isidentifier() else None


def failed_jobs(redis_url: str | None) -> list[QueueFailures] | None:
    """Each queue's failed jobs; None without Redis (jobs run in-process, none is kept)."""
    if not redis_url:
        return None
    from redis.exceptions import RedisError
    from rq.job import Job

    try:
        connection = connect(redis_url)
        found = []
        for name in QUEUES:
            registry = _registry(connection, name)
            ids = registry.get_job_ids(0, LIMIT - 1, desc=True)
            jobs = []
            for job_id, job in zip(ids, Job.fetch_many(ids, connection=connection),
                                   strict=True):
                if job is None:
                    continue  # expired between the two reads
                jobs.append(FailedJob(job_id, name, _short(job.func_name),
                                      _utc(job.ended_at), _failure(job.meta)))
            found.append(QueueFailures(name, registry.get_job_count(), tuple(jobs)))
    except RedisError as exc:
        raise JobsUnavailable() from exc
    return found


def _find(connection: Redis, job_id: str) -> tuple[str, FailedJobRegistry]:
    """The queue and failed registry holding ``job_id``, or :class:`UnknownJob`."""
    if not JOB_ID.fullmatch(job_id):
        raise UnknownJob()
    for name in QUEUES:
        registry = _registry(connection, name)
        if job_id in registry:
            return name, registry
    raise UnknownJob()


def _act(session: Session, redis_url: str | None, user_id: str, job_id: str,
         *, retry: bool) -> str:
    if not redis_url:
        raise UnknownJob()  # in-process jobs are never kept
    from redis.exceptions import RedisError
    from rq.exceptions import InvalidJobOperation, NoSuchJobError

    try:
        connection = connect(redis_url)
        queue, registry = _find(connection, job_id)
        if retry:
            registry.requeue(job_id)
        else:
            registry.remove(job_id, delete_job=True)
    except (InvalidJobOperation, NoSuchJobError) as exc:
        # Another administrator (or the job's expiry) got there first.
        raise UnknownJob() from exc
    except RedisError as exc:
        raise JobsUnavailable() from exc
    event = (FailedJobRetried if retry else FailedJobDiscarded)(user_id, job_id, queue)
    emit_on(session, event)
    return queue


def retry_job(session: Session, redis_url: str | None, user_id: str, job_id: str) -> str:
    """Put a failed job back on its queue (one more attempt); the queue's name."""
    return _act(session, redis_url, user_id, job_id, retry=True)


def discard_job(session: Session, redis_url: str | None, user_id: str, job_id: str) -> str:
    """Delete a failed job for good; the queue's name."""
    return _act(session, redis_url, user_id, job_id, retry=False)
