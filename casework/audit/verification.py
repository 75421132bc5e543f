"""The auditor's "verify now": the whole chain checked in the background, not in a request.

A million entries take over a minute to check (bench/results/audit.md). Checked inside a
request, that minute would hold the request's unit of work, which on SQLite owns the
database's write lock from its BEGIN (common/db.py, immediate writes): every sign-in,
note and bridge import would wait behind the auditor. So a verification is a run of its
own, started by a POST and shown by a GET:

* :func:`start` records the run as *running* in ``audit-verification.json`` in the
  instance folder and hands it to an rq worker (``redis_url`` set) or to a thread of this
  process (the embedded default). A run still going is not started twice.
* The run (:func:`run`) reads through :func:`~casework.audit.verify.verify_database`: a
  short, deferred (read-only) transaction per batch of entries, never the write lock, so
  writers go on committing while it reads (tests/casework/test_audit_verification.py).
  The bounds are fixed first; entries appended meanwhile are left to the next run.
* It writes its progress after each batch and its outcome at the end to the same file,
  which the verify page shows (from any worker process: the file, not memory, holds it).

The file holds counts, sequence numbers, hashes and the problem's wording: no content,
nothing that is not already in the log or the published head. It is a record of the
last check, not a proof: ``flask --app casework audit verify`` is the check that counts
(docs/audit.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from common.db import Database
from common.startup import exclusive
from common.unit_of_work import emit_on

from ..config import CaseworkConfig
from ..events import AuditVerificationStarted
from ..models.base import utcnow
from . import checkpoints
from .verify import BATCH, Verdict, verify_database

log = logging.getLogger("lykta.casework.audit")

STATE_FILE = "audit-verification.json"
# A run that has said nothing for this long died with its process (a restart, a killed
# worker): a new one may start. Progress is written after every batch of BATCH entries.
SILENT_FOR = dt.timedelta(minutes=15)


class State(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the check itself broke (a database error), not the log


@dataclass(frozen=True)
class Outcome:
    """What a finished run found (the template's view of a Verdict)."""

    ok: bool
    entries: int
    checkpoints: int
    head_seq: int
    head_hash: str  # hex
    head_file_seq: int | None
    head_file_signature: str | None  # hex
    problem_seq: int | None
    problem_what: str | None

    @classmethod
    def of(cls, verdict: Verdict) -> Outcome:
        signed, problem = verdict.head_file, verdict.problem
        return cls(verdict.ok, verdict.entries, verdict.checkpoints, verdict.head.seq,
                   verdict.head.hash.hex(), signed.seq if signed else None,
                   signed.signature.hex() if signed else None,
                   problem.seq if problem else None, problem.what if problem else None)


@dataclass(frozen=True)
class Run:
    """One verification: who started it, how far it got, what it found."""

    id: str
    state: State
    started_by: str
    started_at: dt.datetime
    updated_at: dt.datetime
    checked: int = 0  # entries checked so far
    total: int = 0  # entries to check (the newest entry when the run began)
    finished_at: dt.datetime | None = None
    outcome: Outcome | None = None

    @property
    def running(self) -> bool:
        return self.state == State.RUNNING

    def stalled(self, now: dt.datetime) -> bool:
        """True if it says it is running but has said nothing for too long."""
        return self.running and now - self.updated_at > SILENT_FOR

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        for name in ("started_at", "updated_at", "finished_at"):
            raw[name] = raw[name].isoformat() if raw[name] else None
        return raw

    @classmethod
    def from_json(cls, raw: object) -> Run:
        """The record as written by :meth:`to_json`; ValueError, KeyError or TypeError if
        it is not."""
        if not isinstance(raw, dict):
            raise TypeError("not a run record")
        outcome = raw.get("outcome")
        finished = raw.get("finished_at")
        return cls(
            id=str(raw["id"]), state=State(raw["state"]), started_by=str(raw["started_by"]),
            started_at=dt.datetime.fromisoformat(raw["started_at"]),
            updated_at=dt.datetime.fromisoformat(raw["updated_at"]),
            checked=int(raw.get("checked", 0)), total=int(raw.get("total", 0)),
            finished_at=dt.datetime.fromisoformat(finished) if finished else None,
            outcome=Outcome(**outcome) if isinstance(outcome, dict) else None)


def _path(config: CaseworkConfig) -> Path:
    return config.instance_path / STATE_FILE


def latest(config: CaseworkConfig) -> Run | None:
    """The newest run (None if none was ever started, or its record cannot be read)."""
    try:
        return Run.from_json(json.loads(_path(config).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("the audit verification record cannot be read; a new run replaces it")
        return None


def _write(config: CaseworkConfig, run: Run) -> None:
    """Replace the record atomically (owner-only, like every file of the instance)."""
    path = _path(config)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(run.to_json(), file, sort_keys=True)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _update(config: CaseworkConfig, run: Run) -> bool:
    """Write ``run`` if it is still the newest (a newer run replaced a stalled one)."""
    with exclusive(config.instance_path, "audit-verification"):
        current = latest(config)
        if current is not None and current.id != run.id:
            return False
        _write(config, run)
        return True


def start(session: Session, db: Database, config: CaseworkConfig, user_id: str) -> Run:
    """Start a verification unless one is running; the run to show either way.

    Changes no row but the audit entry saying who started it (emitted on ``session``, the
    request's unit). The run reads in transactions of its own (see the module's
    docstring); its start is not undone if the request's commit fails afterwards, which
    costs a read-only pass and nothing else.
    """
    now = utcnow()
    with exclusive(config.instance_path, "audit-verification"):
        current = latest(config)
        if current is not None and current.running and not current.stalled(now):
            return current
        fresh = Run(secrets.token_hex(16), State.RUNNING, user_id, now, now)
        _write(config, fresh)
    emit_on(session, AuditVerificationStarted(user_id, fresh.id))
    if config.redis_url:
        from redis.exceptions import RedisError

        from ..jobs import VERIFY, enqueue

        try:
            enqueue(config.redis_url, VERIFY, config.instance_path, fresh.id)
        except RedisError as exc:
            # No worker will take it: say so on the page now, rather than "running"
            # until the record goes stale.
            log.warning("audit verification not queued: %s", type(exc).__name__)
            failed = replace(fresh, state=State.FAILED, finished_at=utcnow())
            _update(config, failed)
            return failed
    else:
        thread = threading.Thread(target=run, args=(db, config, fresh), daemon=True,
                                  name=f"audit-verification-{fresh.id}")
        _threads[fresh.id] = thread
        thread.start()
    return fresh


# This process's threads by run id, so that a test (or a shutdown) can wait for one.
_threads: dict[str, threading.Thread] = {}


def wait(run_id: str, timeout: float) -> bool:
    """Wait for this process's thread of ``run_id``; True if it has ended (or is not ours)."""
    thread = _threads.get(run_id)
    if thread is None:
        return True
    thread.join(timeout)
    if thread.is_alive():
        return False
    _threads.pop(run_id, None)
    return True


def run(db: Database, config: CaseworkConfig, begun: Run, batch: int = BATCH) -> Run:
    """Check the whole chain for ``begun``, recording progress and the outcome."""
    current = begun

    def progress(checked: int, total: int) -> None:
        nonlocal current
        current = replace(current, checked=checked, total=total, updated_at=utcnow())
        _update(config, current)

    try:
        key = checkpoints.load_signing_key(config.audit_signing_key_file).verify_key
        verdict = verify_database(db, key, config.audit_head_file, batch=batch,
                                  progress=progress)
    except Exception as exc:
        # The check could not be done (the database went away, the key is unreadable):
        # say so by type only, and leave the log's verdict to the next run.
        log.warning("audit verification failed: %s", type(exc).__name__)
        current = replace(current, state=State.FAILED, updated_at=utcnow(),
                          finished_at=utcnow())
    else:
        current = replace(current, state=State.DONE, checked=verdict.entries,
                          total=max(current.total, verdict.entries), updated_at=utcnow(),
                          finished_at=utcnow(), outcome=Outcome.of(verdict))
    _update(config, current)
    return current


def verify_job(instance_path: str, run_id: str) -> str:
    """The rq job: one run for the casework instance at ``instance_path``."""
    from ..jobs.work import services_for

    services = services_for(instance_path)
    config = services.config
    begun = latest(config)
    if begun is None or begun.id != run_id or not begun.running:
        return "superseded"
    return run(services.db, services.config, begun).state.value
