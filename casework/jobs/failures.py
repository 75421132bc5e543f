"""Failed jobs, for administrators: listed, retried, discarded (/admin/jobs/).

What is shown of a failed job: its id, queue, the function's short name, when it failed
and the CLASS of its exception (kept by :func:`casework.jobs.queues.record_failure`).
Never its arguments (an instance folder, a run id), its traceback or the exception's
message: rq keeps those in Redis, but a message can name a case, a person's account or a
path, and the page is for seeing THAT something failed and where, not for debugging
(the worker's log and Redis itself are, for the few who may read them).

Retrying and discarding are administrators' actions on shared state, so both are audit
events (:class:`~casework.events.FailedJobRetried`, ``FailedJobDiscarded``), emitted on
the request's unit, and the audit entry comes first: Redis is changed only once the unit
has committed the entry (an ``AFTER_COMMIT`` subscriber, :func:`install`). A commit that
fails leaves the job failed and listed, as if nobody had clicked.

Two administrators (or one double click) acting on the same job at once: the domain
function first takes a claim on the job in Redis (``SET NX`` with an expiry of
:data:`CLAIM_SECONDS`) and the second request, finding it taken, is told the job is no
longer there (404) and writes no entry. The claim is given back after the change, or at
once when the unit rolls back (an ``AFTER_ROLLBACK`` subscriber); its expiry covers a
process that died in between. One residual, the mirror of the old one: Redis failing
between the commit and the change leaves an entry for a retry that did not happen; the job
is then still listed (and logged), and the administrator retries again. Every job is
idempotent (:mod:`.queues`), so nothing here can lose or double data.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from common.unit_of_work import Phase, emit_on

from ..errors import CaseworkError
from ..events import FailedJobDiscarded, FailedJobRetried
from .queues import FAILURE_META, QUEUES, connect

if TYPE_CHECKING:
    from redis import Redis
    from rq.registry import FailedJobRegistry

    from ..services import Casework

log = logging.getLogger("lykta.casework.jobs")

# The ids rq and the scheduler give jobs: a uuid (rq's default) or 32 hex characters (the
# scheduler's one id per slot). Anything else is no job of ours: a 404 before Redis is
# asked anything.
JOB_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The newest this many per queue are listed (with the total): a bridge that has failed
# every minute for a day fills a registry, and the page must stay small.
LIMIT = 50
# How long a claim on a job lasts if nobody gives it back (a process killed between its
# claim and its commit): far longer than a request, short enough not to block a retry.
CLAIM_SECONDS = 60
CLAIM_PREFIX = "lykta:failed-job-claim:"
# The claims this unit's session holds, by job id (their random tokens): session.info
# lives as long as the session, which the after-commit and after-rollback steps are given.
_CLAIMS = "lykta.jobs.claims"
# Gives a claim back only if it is still ours: one that expired and was taken by another
# request is left alone.
_RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end")


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


def _claims(session: Session) -> dict[str, str]:
    claims: dict[str, str] = session.info.setdefault(_CLAIMS, {})
    return claims


def _act(session: Session, redis_url: str | None, user_id: str, job_id: str,
         *, retry: bool) -> str:
    """Check the job is failed, claim it, and emit the event; Redis changes after commit."""
    if not redis_url:
        raise UnknownJob()  # in-process jobs are never kept
    from redis.exceptions import RedisError

    token = secrets.token_hex(16)
    try:
        connection = connect(redis_url)
        queue, _ = _find(connection, job_id)
        if not connection.set(CLAIM_PREFIX + job_id, token, nx=True, ex=CLAIM_SECONDS):
            # Another administrator's retry or discard of it is under way.
            raise UnknownJob()
    except RedisError as exc:
        raise JobsUnavailable() from exc
    _claims(session)[job_id] = token
    event = (FailedJobRetried if retry else FailedJobDiscarded)(user_id, job_id, queue)
    emit_on(session, event)
    return queue


def retry_job(session: Session, redis_url: str | None, user_id: str, job_id: str) -> str:
    """Put a failed job back on its queue (one more attempt), once the unit commits; the
    queue's name."""
    return _act(session, redis_url, user_id, job_id, retry=True)


def discard_job(session: Session, redis_url: str | None, user_id: str, job_id: str) -> str:
    """Delete a failed job for good, once the unit commits; the queue's name."""
    return _act(session, redis_url, user_id, job_id, retry=False)


def _release(connection: Redis, job_id: str, token: str | None) -> None:
    if token is not None:
        connection.eval(_RELEASE, 1, CLAIM_PREFIX + job_id, token)


def _carry_out(redis_url: str, session: Session, job_id: str, queue: str, *,
               retry: bool) -> None:
    """After the commit: the change in Redis the committed entry records."""
    from redis.exceptions import RedisError
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    token = _claims(session).pop(job_id, None)
    try:
        connection = connect(redis_url)
        registry = _registry(connection, queue)
        try:
            if retry:
                registry.requeue(job_id)
            elif registry.remove(job_id):  # only a job still failed is deleted
                Job.fetch(job_id, connection=connection).delete()
        finally:
            _release(connection, job_id, token)
    except (InvalidJobOperation, NoSuchJobError):
        # Expired (a week) between the claim and the commit: nothing left to change.
        log.warning("failed job %s was gone when its %s was carried out", job_id,
                    "retry" if retry else "discard")
    except RedisError as exc:
        # The entry is committed; the job is still listed and can be retried again.
        log.error("failed job %s: the %s is recorded but Redis did not take it (%s)", job_id,
                  "retry" if retry else "discard", type(exc).__name__)


def _give_back(redis_url: str, session: Session, job_id: str) -> None:
    """After a rollback: the claim goes, Redis is as before the click."""
    from redis.exceptions import RedisError

    token = _claims(session).pop(job_id, None)
    try:
        _release(connect(redis_url), job_id, token)
    except RedisError as exc:  # the claim's expiry frees it instead
        log.warning("failed job %s: its claim could not be given back (%s)", job_id,
                    type(exc).__name__)


def install(casework: Casework) -> None:
    """Carry out retries and discards after their unit commits; give claims back when it
    rolls back (``casework.create_app``, after the audit log's subscriber)."""
    redis_url = casework.config.redis_url
    if not redis_url:
        return  # without Redis no job is kept, so none is ever retried or discarded

    def retried(session: Session, event: FailedJobRetried) -> None:
        _carry_out(redis_url, session, event.job_id, event.queue, retry=True)

    def discarded(session: Session, event: FailedJobDiscarded) -> None:
        _carry_out(redis_url, session, event.job_id, event.queue, retry=False)

    def abandoned(session: Session, event: FailedJobRetried | FailedJobDiscarded) -> None:
        _give_back(redis_url, session, event.job_id)

    dispatcher = casework.dispatcher
    dispatcher.subscribe(FailedJobRetried, retried, phase=Phase.AFTER_COMMIT)
    dispatcher.subscribe(FailedJobDiscarded, discarded, phase=Phase.AFTER_COMMIT)
    dispatcher.subscribe(FailedJobRetried, abandoned, phase=Phase.AFTER_ROLLBACK)
    dispatcher.subscribe(FailedJobDiscarded, abandoned, phase=Phase.AFTER_ROLLBACK)
